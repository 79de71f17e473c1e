package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/apptest"
	"github.com/linkbox/linkbox/internal/sms/smstest"
)

// contract is the whole Linkbox behind a real port, with the OpenAPI
// document it serves: every exchange of a test goes through do, which holds
// the request and the response to the document.
type contract struct {
	srv    *app.Server
	url    string
	sms    *smstest.Gateway
	clock  *testClock
	doc    *openapi3.T
	router routers.Router
}

// testClock is the server's clock, moved forward by tests that wait for
// something to expire.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func newContract(t *testing.T, databaseURL string) *contract {
	t.Helper()
	clock := &testClock{}
	// With a metrics token, GET /metrics is on the main listener, as documented.
	st := apptest.Start(t, databaseURL, map[string]string{"LINKBOX_METRICS_TOKEN": "contract-metrics-token"}, app.Options{Now: clock.now})
	c := &contract{srv: st.Server, url: st.URL, sms: st.SMS, clock: clock}
	c.loadDocument(t)
	return c
}

// loadDocument reads the document the server serves, as a client would.
func (c *contract) loadDocument(t *testing.T) {
	t.Helper()
	resp, err := http.Get(c.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d, %v", resp.StatusCode, err)
	}
	if c.doc, err = openapi3.NewLoader().LoadFromData(body); err != nil {
		t.Fatalf("load the document: %v", err)
	}
	if err := c.doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	if c.router, err = legacy.NewRouter(c.doc); err != nil {
		t.Fatal(err)
	}
}

// exchange is one request and the status it must get (0: any the document
// lists, for loops that wait for a limit).
type exchange struct {
	method, target string // target: the path and query
	body           string
	header         map[string]string // Content-Type is application/json unless set
	want           int
	// breaks says the request breaks the document (a required field is
	// missing, a value out of range): the document must refuse it too.
	breaks bool
}

func (e exchange) with(name, value string) exchange {
	h := map[string]string{name: value}
	for k, v := range e.header {
		h[k] = v
	}
	e.header = h
	return e
}

func (e exchange) bearer(token string) exchange { return e.with("Authorization", "Bearer "+token) }
func (e exchange) apiKey(key string) exchange   { return e.with("X-Api-Key", key) }
func (e exchange) breaking() exchange           { e.breaks = true; return e }

func (e exchange) request(base string) *http.Request {
	r := httptest.NewRequest(e.method, base+e.target, strings.NewReader(e.body))
	r.RequestURI = ""
	if e.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range e.header {
		r.Header.Set(k, v)
	}
	return r
}

// result is a response, read whole.
type result struct {
	status int
	header http.Header
	body   []byte
}

func (r *result) String() string { return strconv.Itoa(r.status) + " " + short(string(r.body)) }

// short cuts s for a failure message.
func short(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// text returns the string field name of a JSON object answer.
func (r *result) text(name string) string {
	var m map[string]any
	json.Unmarshal(r.body, &m)
	v, _ := m[name].(string)
	return v
}

func post(target, body string, want int) exchange {
	return exchange{method: http.MethodPost, target: target, body: body, want: want}
}

func get(target string, want int) exchange {
	return exchange{method: http.MethodGet, target: target, want: want}
}

// do sends e to the server and checks the request, the status and the
// response against the document.
func (c *contract) do(t *testing.T, e exchange) *result {
	t.Helper()
	in := c.checkRequest(t, e)
	resp, err := http.DefaultClient.Do(e.request(c.url))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	res := &result{status: resp.StatusCode, header: resp.Header, body: body}
	if e.want != 0 && res.status != e.want {
		t.Fatalf("%s %s = %s, want %d", e.method, e.target, res, e.want)
	}
	c.checkResponse(t, in, res)
	return res
}

// checkRequest finds e's operation in the document and validates e against
// it, expecting the verdict e.breaks calls for.
func (c *contract) checkRequest(t *testing.T, e exchange) *openapi3filter.RequestValidationInput {
	t.Helper()
	r := e.request("") // the router matches the relative server "/" against a path
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		t.Fatalf("%s %s is not in the document: %v", e.method, e.target, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: presented}}
	err = openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case e.breaks && err == nil:
		t.Errorf("%s %s %s: the document takes a request the server refuses", e.method, e.target, short(e.body))
	case !e.breaks && err != nil:
		t.Errorf("%s %s %s: the document refuses the request: %v", e.method, e.target, short(e.body), short(err.Error()))
	}
	return in
}

// checkResponse checks that the document lists res's status for the
// operation, and that res matches what it says. A nil body is a stream's,
// whose events are checked one by one.
func (c *contract) checkResponse(t *testing.T, in *openapi3filter.RequestValidationInput, res *result) {
	t.Helper()
	op := in.Route.Method + " " + in.Route.Path
	if in.Route.Operation.Responses.Status(res.status) == nil {
		t.Errorf("%s answered %d, which the document does not list: %s", op, res.status, res)
		return
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.status, Header: res.header,
		Body:    io.NopCloser(bytes.NewReader(res.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: res.body == nil}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s answered against the document: %v\n%s", op, short(err.Error()), res)
	}
}

// presented checks that a request carries the credential a security scheme
// names; whether it is good is the server's business.
func presented(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r, s := in.RequestValidationInput.Request, in.SecurityScheme
	ok := false
	switch {
	case s.Type == "http" && s.Scheme == "bearer":
		token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		ok = found && token != ""
	case s.Type == "apiKey" && s.In == "header":
		ok = r.Header.Get(s.Name) != ""
	case s.Type == "apiKey" && s.In == "cookie":
		_, err := r.Cookie(s.Name)
		ok = err == nil
	}
	if !ok {
		return fmt.Errorf("no credential for %s", in.SecuritySchemeName)
	}
	return nil
}

// openStream opens an event stream with e, checks its opening against the
// document, and returns its events as they come.
func (c *contract) openStream(t *testing.T, e exchange) <-chan apptest.Event {
	t.Helper()
	in := c.checkRequest(t, e)
	resp, err := http.DefaultClient.Do(e.request(c.url))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream = %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	c.checkResponse(t, in, &result{status: resp.StatusCode, header: resp.Header})
	return apptest.Events(t, resp.Body)
}

// checkMessage checks a stream event's data against the document's
// InboxMessage and returns it.
func (c *contract) checkMessage(t *testing.T, ev apptest.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
		t.Fatalf("event %s: data %q: %v", ev.Name, ev.Data, err)
	}
	schema := c.doc.Components.Schemas["InboxMessage"].Value
	if err := schema.VisitJSON(m, openapi3.VisitAsResponse()); err != nil {
		t.Errorf("event %s: %s is no InboxMessage: %v", ev.Name, ev.Data, err)
	}
	return m
}

// code waits for the next SMS to phone and returns its code.
func (c *contract) code(t *testing.T, phone string) string {
	t.Helper()
	return smsCode(t, c.sms, phone)
}

// smsCode waits for the next SMS gw receives for phone and returns its code.
func smsCode(t *testing.T, gw *smstest.Gateway, phone string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := gw.Wait(ctx, phone)
	if err != nil {
		t.Fatalf("no SMS to %s: %v", phone, err)
	}
	code := smstest.Code(m.Body)
	if code == "" {
		t.Fatalf("SMS without a code: %q", m.Body)
	}
	return code
}
