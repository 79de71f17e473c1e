// Package smsactivate is a client of the SMS-Activate protocol, the
// handler_api.php that SMS-Activate made and many resellers speak: one URL,
// GET with api_key, action and the action's parameters in the query, and a
// plain-text answer ("ACCESS_NUMBER:id:phone", "STATUS_OK:code", an error
// word such as NO_NUMBERS) except for getPrices, which answers JSON.
//
// Its errors never carry the API key: the key travels in the query, and
// net/http's errors quote the URL, so transport errors are rewritten to
// name the action only.
package smsactivate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The error words of the protocol this client tells apart.
const (
	NoNumbers         = "NO_NUMBERS"          // no free number for the service and country
	NoBalance         = "NO_BALANCE"          // the account's balance is short
	BadKey            = "BAD_KEY"             // the API key is wrong
	NoKey             = "NO_KEY"              // no API key was sent
	BadAction         = "BAD_ACTION"          // no such action
	BadService        = "BAD_SERVICE"         // no such service (some providers say WRONG_SERVICE)
	WrongService      = "WRONG_SERVICE"       //
	BadCountry        = "BAD_COUNTRY"         // no such country (some say WRONG_COUNTRY)
	WrongCountry      = "WRONG_COUNTRY"       //
	BadStatus         = "BAD_STATUS"          // setStatus: the status does not apply now
	NoActivation      = "NO_ACTIVATION"       // no such activation (some say WRONG_ACTIVATION_ID)
	WrongActivationID = "WRONG_ACTIVATION_ID" //
	EarlyCancelDenied = "EARLY_CANCEL_DENIED" // setStatus 8 in the activation's first minutes
	ErrorSQL          = "ERROR_SQL"           // the provider's own fault
	Banned            = "BANNED"              // the account is banned ("BANNED:until")
)

// The statuses of setStatus.
const (
	StatusReady    = 1 // the SMS was requested from the service
	StatusRetry    = 3 // another code is awaited on the same number
	StatusFinish   = 6 // the activation is done
	StatusCanceled = 8 // the number is cancelled (refused, or not needed)
)

// The answers of getStatus, in Status.State.
const (
	WaitCode   = "STATUS_WAIT_CODE"   // no SMS yet
	WaitRetry  = "STATUS_WAIT_RETRY"  // a code came (Status.Code), another is awaited
	WaitResend = "STATUS_WAIT_RESEND" // the service is to send the SMS again
	Cancelled  = "STATUS_CANCEL"      // the activation was cancelled
	OK         = "STATUS_OK"          // a code came (Status.Code)
)

// Error is an answer of the provider that is not a success: one of the
// error words above, or what it said when it was none of them (Word
// "UNEXPECTED", Detail the answer's first bytes).
type Error struct {
	Action string
	Word   string
	Detail string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Detail != "" {
		return "smsactivate " + e.Action + ": " + e.Word + ": " + e.Detail
	}
	return "smsactivate " + e.Action + ": " + e.Word
}

// Word is the protocol's error word of err, "" when err is not an answer of
// the provider (a transport failure, say).
func Word(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Word
	}
	return ""
}

// Client calls one provider.
type Client struct {
	endpoint string
	key      string
	http     *http.Client
}

// New returns a client of the handler_api.php at endpoint, with key. A nil
// hc is a client with a 15-second timeout.
func New(endpoint, key string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, errors.New("smsactivate: the endpoint must be an absolute http(s) URL without a query")
	}
	if key == "" {
		return nil, errors.New("smsactivate: an API key is required")
	}
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{endpoint: endpoint, key: key, http: hc}, nil
}

// maxAnswer caps an answer; getPrices of every country is the largest.
const maxAnswer = 8 << 20

// call runs action with params and returns the answer's text, trimmed.
func (c *Client) call(ctx context.Context, action string, params url.Values) (string, error) {
	q := url.Values{"api_key": {c.key}, "action": {action}}
	for k, v := range params {
		q[k] = v
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return "", fmt.Errorf("smsactivate %s: %w", action, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("smsactivate %s: %w", action, cause(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return "", fmt.Errorf("smsactivate %s: reading the answer: %w", action, cause(err))
	}
	text := strings.TrimSpace(string(b))
	if w := errorWord(text); w != "" {
		return "", &Error{Action: action, Word: w}
	}
	if resp.StatusCode/100 != 2 {
		return "", &Error{Action: action, Word: "UNEXPECTED", Detail: "HTTP " + strconv.Itoa(resp.StatusCode)}
	}
	return text, nil
}

// cause strips the URL (and with it the key) from a transport error.
func cause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorWord is the error word text is, "" when it is none.
func errorWord(text string) string {
	word, _, _ := strings.Cut(text, ":")
	switch word {
	case NoNumbers, NoBalance, BadKey, NoKey, BadAction, BadService, WrongService, BadCountry, WrongCountry,
		BadStatus, NoActivation, WrongActivationID, EarlyCancelDenied, ErrorSQL, Banned:
		return word
	}
	return ""
}

func unexpected(action, text string) error {
	if len(text) > 80 {
		text = text[:80]
	}
	return &Error{Action: action, Word: "UNEXPECTED", Detail: strconv.Quote(text)}
}

// Activation is a number bought for one service.
type Activation struct {
	ID    string
	Phone string // E.164, with its +
}

// GetNumber buys a number of country for service ("tg", "wa", …; the
// provider's codes), of operator unless empty: "ACCESS_NUMBER:id:phone".
func (c *Client) GetNumber(ctx context.Context, service, country, operator string) (Activation, error) {
	p := url.Values{"service": {service}, "country": {country}}
	if operator != "" {
		p.Set("operator", operator)
	}
	text, err := c.call(ctx, "getNumber", p)
	if err != nil {
		return Activation{}, err
	}
	parts := strings.Split(text, ":")
	if len(parts) != 3 || parts[0] != "ACCESS_NUMBER" || parts[1] == "" || !digits(parts[2]) {
		return Activation{}, unexpected("getNumber", text)
	}
	return Activation{ID: parts[1], Phone: "+" + strings.TrimPrefix(parts[2], "+")}, nil
}

func digits(v string) bool {
	v = strings.TrimPrefix(v, "+")
	if len(v) < 7 || len(v) > 15 {
		return false
	}
	for _, r := range v {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Status is what getStatus says of an activation.
type Status struct {
	State string // WaitCode, WaitRetry, WaitResend, Cancelled or OK
	Code  string // with OK and WaitRetry: the last code
}

// GetStatus asks how an activation stands.
func (c *Client) GetStatus(ctx context.Context, id string) (Status, error) {
	text, err := c.call(ctx, "getStatus", url.Values{"id": {id}})
	if err != nil {
		return Status{}, err
	}
	state, code, _ := strings.Cut(text, ":")
	switch state {
	case WaitCode, WaitResend, Cancelled:
		return Status{State: state}, nil
	case OK, WaitRetry:
		if code == "" {
			return Status{}, unexpected("getStatus", text)
		}
		return Status{State: state, Code: code}, nil
	}
	return Status{}, unexpected("getStatus", text)
}

// setStatusAnswers are the answers each status of setStatus expects.
var setStatusAnswers = map[int]string{
	StatusReady:    "ACCESS_READY",
	StatusRetry:    "ACCESS_RETRY_GET",
	StatusFinish:   "ACCESS_ACTIVATION",
	StatusCanceled: "ACCESS_CANCEL",
}

// SetStatus moves an activation to status (StatusReady, StatusRetry,
// StatusFinish or StatusCanceled).
func (c *Client) SetStatus(ctx context.Context, id string, status int) error {
	want, ok := setStatusAnswers[status]
	if !ok {
		return fmt.Errorf("smsactivate setStatus: status %d is not one of 1, 3, 6, 8", status)
	}
	text, err := c.call(ctx, "setStatus", url.Values{"id": {id}, "status": {strconv.Itoa(status)}})
	if err != nil {
		return err
	}
	if text != want {
		return unexpected("setStatus", text)
	}
	return nil
}

// Price is one entry of getPrices, its cost in micro-units of the
// provider's currency.
type Price struct {
	Country, Service string // the provider's ids
	Cost, Count      int64
}

// GetPrices lists the prices, of one service and one country where given:
// {"<country>":{"<service>":{"cost":12.5,"count":100}}}, cost and count as
// numbers or, with some providers, strings.
func (c *Client) GetPrices(ctx context.Context, service, country string) ([]Price, error) {
	p := url.Values{}
	if service != "" {
		p.Set("service", service)
	}
	if country != "" {
		p.Set("country", country)
	}
	text, err := c.call(ctx, "getPrices", p)
	if err != nil {
		return nil, err
	}
	var tree map[string]map[string]struct {
		Cost  json.Number `json:"cost"`
		Count json.Number `json:"count"`
	}
	if err := json.Unmarshal([]byte(text), &tree); err != nil {
		return nil, unexpected("getPrices", text)
	}
	var out []Price
	for country, services := range tree {
		for service, e := range services {
			cost, err1 := Micros(e.Cost.String())
			count, err2 := strconv.ParseInt(e.Count.String(), 10, 64)
			if err1 != nil || err2 != nil || count < 0 {
				return nil, unexpected("getPrices", country+"/"+service+": cost "+e.Cost.String()+", count "+e.Count.String())
			}
			out = append(out, Price{Country: country, Service: service, Cost: cost, Count: count})
		}
	}
	return out, nil
}

// GetBalance is the account's balance, in micro-units: "ACCESS_BALANCE:12.40".
func (c *Client) GetBalance(ctx context.Context) (int64, error) {
	text, err := c.call(ctx, "getBalance", nil)
	if err != nil {
		return 0, err
	}
	v, ok := strings.CutPrefix(text, "ACCESS_BALANCE:")
	m, err := Micros(v)
	if !ok || err != nil {
		return 0, unexpected("getBalance", text)
	}
	return m, nil
}

// Micros reads a non-negative decimal ("12.5", "0.285", "1e-3") as
// micro-units, rounded up.
func Micros(v string) (int64, error) {
	r, ok := new(big.Rat).SetString(v)
	if !ok || r.Sign() < 0 {
		return 0, fmt.Errorf("smsactivate: %q is not a non-negative decimal", v)
	}
	r.Mul(r, big.NewRat(1e6, 1))
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() || q.Int64() > 1e15 {
		return 0, fmt.Errorf("smsactivate: %q is too large", v)
	}
	return q.Int64(), nil
}
