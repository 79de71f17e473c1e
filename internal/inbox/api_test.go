package inbox_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/inbox"
)

func otp(userID, code string, expires time.Time) inbox.NewMessage {
	return inbox.NewMessage{UserID: userID, Source: acme, Type: inbox.TypeOTP,
		Message: "Your Acme code", Code: code, Reference: "order-7", ExpiresAt: expires}
}

func TestListShape(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user, other := e.newUser(t), e.newUser(t)
		otpID := e.add(t, otp(user, "042917", start.Add(5*time.Minute)))
		e.clock.Advance(time.Second)
		noteID := e.add(t, note(user, "Your parcel has shipped"))

		status, body := e.do(t, "GET", "/v1/inbox/messages", user)
		if status != http.StatusOK {
			t.Fatalf("status %d, want 200; body %s", status, body)
		}
		// Byte for byte: clients parse these.
		want := `{"object":"list","data":[` +
			`{"id":"` + noteID + `","type":"notification","app":{"id":"app_1","name":"Acme"},"message":"Your parcel has shipped",` +
			`"created_at":"2025-03-14T09:26:54Z","read_at":null},` +
			`{"id":"` + otpID + `","type":"otp","app":{"id":"app_1","name":"Acme"},"message":"Your Acme code",` +
			`"code":"042917","reference":"order-7","created_at":"2025-03-14T09:26:53Z","expires_at":"2025-03-14T09:31:53Z","read_at":null}` +
			`],"has_more":false}` + "\n"
		if string(body) != want {
			t.Errorf("list\n got %s\nwant %s", body, want)
		}

		status, body = e.do(t, "GET", "/v1/inbox/messages", other)
		if want := `{"object":"list","data":[],"has_more":false}` + "\n"; status != http.StatusOK || string(body) != want {
			t.Errorf("empty inbox: %d %s, want 200 %s", status, body, want)
		}
		var sealed string
		if err := e.db.QueryRow(context.Background(), `SELECT code_sealed FROM inbox_messages WHERE id = ?`, e.svc.NumOf(otpID)).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if sealed == "" || sealed == "042917" {
			t.Errorf("stored code %q, want it sealed", sealed)
		}
	})
}

// TestListOtherSources: types and source kinds are open sets. A message
// from a source that is not an app shows it as "source" in place of "app";
// a code on a type other than an OTP is shown while it lives, without a
// reference.
func TestListOtherSources(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user := e.newUser(t)
		rental := inbox.Source{Kind: "rental", ID: "rent_1", Name: "+44 7700 900123"}
		long := strings.Repeat("x", 32)
		smsID := e.add(t, inbox.NewMessage{UserID: user, Source: rental, Type: "sms", Message: "Your code is 123456",
			Code: "123456", ExpiresAt: start.Add(time.Hour)})
		e.clock.Advance(time.Second)
		longID := e.add(t, inbox.NewMessage{UserID: user, Source: inbox.Source{Kind: "supplier_2", ID: "sup_1", Name: "Volt"},
			Type: long, Message: "Linked"})
		want := `{"object":"list","data":[` +
			`{"id":"` + longID + `","type":"` + long + `","source":{"kind":"supplier_2","id":"sup_1","name":"Volt"},"message":"Linked",` +
			`"created_at":"2025-03-14T09:26:54Z","read_at":null},` +
			`{"id":"` + smsID + `","type":"sms","source":{"kind":"rental","id":"rent_1","name":"+44 7700 900123"},"message":"Your code is 123456",` +
			`"code":"123456","created_at":"2025-03-14T09:26:53Z","expires_at":"2025-03-14T10:26:53Z","read_at":null}` +
			`],"has_more":false}` + "\n"
		if status, body := e.do(t, "GET", "/v1/inbox/messages", user); status != http.StatusOK || string(body) != want {
			t.Errorf("list: %d\n got %s\nwant %s", status, body, want)
		}
		e.erase(t, smsID)
		if code, ok := codeOf(t, e, user, smsID); ok {
			t.Errorf("erased SMS code %q still shown", code)
		}
	})
}

// listIDs lists userID's inbox with query and returns the ids and has_more.
func listIDs(t *testing.T, e *env, userID, query string) ([]string, bool) {
	t.Helper()
	status, body := e.do(t, "GET", "/v1/inbox/messages"+query, userID)
	if status != http.StatusOK {
		t.Fatalf("list %s: status %d, want 200; body %s", query, status, body)
	}
	v := decode(t, body)
	var ids []string
	for _, item := range v["data"].([]any) {
		ids = append(ids, item.(map[string]any)["id"].(string))
	}
	return ids, v["has_more"].(bool)
}

func TestListPagination(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user, busy := e.newUser(t), e.newUser(t)
		m := make([]string, 6) // m[1]…m[5], oldest first
		for i := 1; i <= 5; i++ {
			m[i] = e.add(t, note(user, "n"))
		}
		for range inbox.DefaultLimit + 1 {
			e.add(t, note(busy, "n"))
		}
		tests := []struct {
			query string
			want  []string
			more  bool
		}{
			{"", []string{m[5], m[4], m[3], m[2], m[1]}, false},
			{"?limit=2", []string{m[5], m[4]}, true},
			{"?limit=2&before=" + m[4], []string{m[3], m[2]}, true},
			{"?limit=2&before=" + m[3], []string{m[2], m[1]}, false},
			{"?limit=2&before=" + m[2], []string{m[1]}, false},
			{"?before=" + m[1], nil, false},
			{"?limit=5", []string{m[5], m[4], m[3], m[2], m[1]}, false},
			{"?limit=100&before=" + m[5], []string{m[4], m[3], m[2], m[1]}, false},
		}
		for _, tt := range tests {
			got, more := listIDs(t, e, user, tt.query)
			if !reflect.DeepEqual(got, tt.want) || more != tt.more {
				t.Errorf("list %s: got %v has_more=%v, want %v has_more=%v", tt.query, got, more, tt.want, tt.more)
			}
		}
		if got, more := listIDs(t, e, busy, ""); len(got) != inbox.DefaultLimit || !more {
			t.Errorf("default page: %d messages has_more=%v, want %d true", len(got), more, inbox.DefaultLimit)
		}
	})
}

func TestListBadParams(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user, other := e.newUser(t), e.newUser(t)
		e.add(t, note(user, "mine"))
		foreign := e.add(t, note(other, "theirs"))
		tests := []struct{ query, code string }{
			{"?limit=0", "invalid_limit"},
			{"?limit=-1", "invalid_limit"},
			{"?limit=101", "invalid_limit"},
			{"?limit=abc", "invalid_limit"},
			{"?limit=1.5", "invalid_limit"},
			{"?limit=1e2", "invalid_limit"},
			{"?limit=%205", "invalid_limit"},
			{"?limit=99999999999999999999", "invalid_limit"},
			{"?before=msg_000000000000", "invalid_cursor"},
			{"?before=" + foreign, "invalid_cursor"},
			{"?limit=2&before=nonsense", "invalid_cursor"},
		}
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				status, body := e.do(t, "GET", "/v1/inbox/messages"+tt.query, user)
				wantError(t, status, body, http.StatusBadRequest, tt.code)
			})
		}
	})
}

// codeOf returns the code the list shows for message id, if any.
func codeOf(t *testing.T, e *env, userID, id string) (string, bool) {
	t.Helper()
	msgs, err := e.svc.List(context.Background(), userID, inbox.MaxLimit, "")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, m := range msgs {
		if m.ID == id {
			return m.Code, m.Code != ""
		}
	}
	t.Fatalf("message %s not listed", id)
	return "", false
}

func TestCodeHiddenOnceDead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		ctx := context.Background()
		user := e.newUser(t)
		expiring := e.add(t, otp(user, "111111", start.Add(5*time.Minute)))
		erased := e.add(t, otp(user, "222222", time.Time{}))

		e.clock.Advance(5*time.Minute - time.Millisecond)
		if code, ok := codeOf(t, e, user, expiring); code != "111111" {
			t.Errorf("just before expiry: code %q (shown %v), want 111111", code, ok)
		}
		e.clock.Advance(time.Millisecond)
		if code, ok := codeOf(t, e, user, expiring); ok {
			t.Errorf("at expiry: code %q shown, want none", code)
		}

		if code, _ := codeOf(t, e, user, erased); code != "222222" {
			t.Errorf("before EraseCode: code %q, want 222222", code)
		}
		for range 2 { // erasing twice is harmless
			e.erase(t, erased)
		}
		if code, ok := codeOf(t, e, user, erased); ok {
			t.Errorf("after EraseCode: code %q shown, want none", code)
		}
		err := e.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error { return e.svc.EraseCode(ctx, tx, 1<<40) })
		if !errors.Is(err, db.ErrNotFound) {
			t.Errorf("EraseCode of an unknown message = %v, want db.ErrNotFound", err)
		}
		status, body := e.do(t, "GET", "/v1/inbox/messages", user)
		for _, item := range decode(t, body)["data"].([]any) {
			if m := item.(map[string]any); m["code"] != nil || m["reference"] != "order-7" {
				t.Errorf("dead OTP on the wire (status %d): %v, want no code and its reference", status, m)
			}
		}
	})
}

func TestMarkRead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user, other := e.newUser(t), e.newUser(t)
		id := e.add(t, note(user, "hello"))
		e.clock.Advance(time.Minute)
		for range 2 { // the second read keeps the first time
			status, body := e.do(t, "POST", "/v1/inbox/messages/"+id+"/read", user)
			got := decode(t, body)
			if status != http.StatusOK || got["id"] != id || got["read_at"] != "2025-03-14T09:27:53Z" {
				t.Fatalf("read: %d %s, want 200 with read_at 2025-03-14T09:27:53Z", status, body)
			}
			e.clock.Advance(time.Minute)
		}
		status, body := e.do(t, "GET", "/v1/inbox/messages", user)
		if item := decode(t, body)["data"].([]any)[0].(map[string]any); item["read_at"] != "2025-03-14T09:27:53Z" {
			t.Errorf("listed read_at %v (status %d), want 2025-03-14T09:27:53Z", item["read_at"], status)
		}
		status, body = e.do(t, "POST", "/v1/inbox/messages/"+id+"/read", other)
		wantError(t, status, body, http.StatusNotFound, "message_not_found")
		status, body = e.do(t, "POST", "/v1/inbox/messages/msg_000000000000/read", user)
		wantError(t, status, body, http.StatusNotFound, "message_not_found")
		status, body = e.do(t, "GET", "/v1/inbox/messages", other)
		if len(decode(t, body)["data"].([]any)) != 0 {
			t.Errorf("other user's inbox after the foreign read: %d %s, want empty", status, body)
		}
	})
}

func TestUnauthorized(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user := e.newUser(t)
		id := e.add(t, note(user, "hello"))
		requests := []struct{ method, path string }{
			{"GET", "/v1/inbox/messages"},
			{"POST", "/v1/inbox/messages/" + id + "/read"},
			{"GET", "/v1/inbox/stream"},
		}
		auths := []struct{ header, code string }{
			{"", "missing_token"},
			{"Bearer nope", "invalid_token"},
			{"Basic dXNlcjpwYXNz", "invalid_token"},
		}
		for _, rq := range requests {
			for _, a := range auths {
				req, err := http.NewRequest(rq.method, e.server.URL+rq.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if a.header != "" {
					req.Header.Set("Authorization", a.header)
				}
				resp, body := send(t, e, req)
				wantError(t, resp.StatusCode, body, http.StatusUnauthorized, a.code)
				if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="linkbox"` {
					t.Errorf("%s %s: WWW-Authenticate %q, want the Bearer scheme", rq.method, rq.path, got)
				}
			}
		}
	})
}

func TestAddRejects(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		ctx := context.Background()
		user := e.newUser(t)
		tests := []struct {
			name string
			m    inbox.NewMessage
		}{
			{"otp without code", inbox.NewMessage{UserID: user, Source: acme, Type: inbox.TypeOTP, Message: "x"}},
			{"reference on a notification", inbox.NewMessage{UserID: user, Source: acme, Type: inbox.TypeNotification, Message: "x", Reference: "r"}},
			{"no user", inbox.NewMessage{Source: acme, Type: inbox.TypeNotification, Message: "x"}},
			{"no source", inbox.NewMessage{UserID: user, Type: inbox.TypeNotification, Message: "x"}},
			{"no source kind", inbox.NewMessage{UserID: user, Source: inbox.Source{ID: "app_1", Name: "Acme"}, Type: inbox.TypeNotification, Message: "x"}},
			{"no source id", inbox.NewMessage{UserID: user, Source: inbox.Source{Kind: inbox.SourceApp, Name: "Acme"}, Type: inbox.TypeNotification, Message: "x"}},
			{"no source name", inbox.NewMessage{UserID: user, Source: inbox.Source{Kind: inbox.SourceApp, ID: "app_1"}, Type: inbox.TypeNotification, Message: "x"}},
			{"no type", inbox.NewMessage{UserID: user, Source: acme, Message: "x"}},
			{"upper-case type", inbox.NewMessage{UserID: user, Source: acme, Type: "SMS", Message: "x"}},
			{"type with a space", inbox.NewMessage{UserID: user, Source: acme, Type: "s ms", Message: "x"}},
			{"type from a digit", inbox.NewMessage{UserID: user, Source: acme, Type: "2fa", Message: "x"}},
			{"type too long", inbox.NewMessage{UserID: user, Source: acme, Type: strings.Repeat("a", 33), Message: "x"}},
			{"upper-case source kind", inbox.NewMessage{UserID: user, Source: inbox.Source{Kind: "App", ID: "app_1", Name: "Acme"}, Type: inbox.TypeNotification, Message: "x"}},
			{"unknown user", note("user_000000000000", "x")},
		}
		for _, tt := range tests {
			err := e.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
				_, err := e.svc.Add(ctx, tx, tt.m)
				return err
			})
			if err == nil {
				t.Errorf("%s: Add succeeded, want an error", tt.name)
			}
		}
		if msgs, err := e.svc.List(ctx, user, 0, ""); err != nil || len(msgs) != 0 {
			t.Errorf("after rejected adds: %d messages, err %v; want none", len(msgs), err)
		}
	})
}
