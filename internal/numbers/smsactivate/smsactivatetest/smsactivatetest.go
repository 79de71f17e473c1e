// Package smsactivatetest is a fake SMS-Activate provider for tests: a real
// handler_api.php on 127.0.0.1 that sells numbers from its price list,
// keeps a balance, delivers the codes a test sends, refuses a cancel in an
// activation's first two minutes (EARLY_CANCEL_DENIED), and answers any
// action with an error word a test forces.
package smsactivatetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Key is the API key the fake takes.
const Key = "fake-smsactivate-key"

// EarlyCancel is how long after its purchase an activation cannot be
// cancelled.
const EarlyCancel = 2 * time.Minute

// Activation is an activation the fake sold.
type Activation struct {
	ID, Service, Country, Phone string
	Status                      int    // the last setStatus: 0 none yet, 1, 3, 6 or 8
	Code                        string // the last code delivered
	Retry                       bool   // a code came and another is awaited (setStatus 3)
	Bought                      time.Time
}

type price struct {
	cost  string
	count int
}

// Server is the fake provider.
type Server struct {
	URL string // its handler_api.php

	now func() time.Time

	mu      sync.Mutex
	balance string
	prices  map[string]map[string]*price // country → service → price
	acts    map[string]*Activation
	next    int
	forced  map[string]string // action → the error word it answers
	phone   string            // the number the next getNumber sells, "" for a new one
	calls   []url.Values
}

// New starts the fake, with now as its clock (nil: time.Now) and a balance
// of 100; it is closed when t ends.
func New(t testing.TB, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	s := &Server{now: now, balance: "100", prices: map[string]map[string]*price{}, acts: map[string]*Activation{},
		next: 1000, forced: map[string]string{}}
	ts := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(ts.Close)
	s.URL = ts.URL + "/stubs/handler_api.php"
	return s
}

// SetPrice sets the price and the count of free numbers of service (the
// protocol's code, "tg") in country (its id, "187").
func (s *Server) SetPrice(country, service, cost string, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prices[country] == nil {
		s.prices[country] = map[string]*price{}
	}
	s.prices[country][service] = &price{cost: cost, count: count}
}

// SetBalance sets the account's balance, a decimal.
func (s *Server) SetBalance(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.balance = v
}

// Force has action answer word ("NO_NUMBERS", "BAD_KEY", …) until cleared
// with "".
func (s *Server) Force(action, word string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if word == "" {
		delete(s.forced, action)
		return
	}
	s.forced[action] = word
}

// SellAgain has the next getNumber sell phone (digits, no +), a number it
// sold before, as providers do once an activation has ended.
func (s *Server) SellAgain(phone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phone = phone
}

// Deliver has a code arrive on the activation id.
func (s *Server) Deliver(id, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.acts[id]; a != nil {
		a.Code, a.Retry = code, false
	}
}

// Activation returns the activation id as it stands.
func (s *Server) Activation(id string) (Activation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.acts[id]
	if a == nil {
		return Activation{}, false
	}
	return *a, true
}

// Activations returns every activation sold, oldest first.
func (s *Server) Activations() []Activation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Activation
	for i := 1000; i < s.next; i++ {
		out = append(out, *s.acts[strconv.Itoa(i)])
	}
	return out
}

// Calls returns the queries of the calls of action received so far.
func (s *Server) Calls(action string) []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []url.Values
	for _, q := range s.calls {
		if q.Get("action") == action {
			out = append(out, q)
		}
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, q)
	action := q.Get("action")
	answer := func(v string) { fmt.Fprint(w, v) }
	switch {
	case q.Get("api_key") == "":
		answer("NO_KEY")
	case q.Get("api_key") != Key:
		answer("BAD_KEY")
	case s.forced[action] != "":
		answer(s.forced[action])
	case action == "getBalance":
		answer("ACCESS_BALANCE:" + s.balance)
	case action == "getPrices":
		s.getPrices(w, q.Get("service"), q.Get("country"))
	case action == "getNumber":
		answer(s.getNumber(q.Get("service"), q.Get("country")))
	case action == "getStatus":
		answer(s.getStatus(q.Get("id")))
	case action == "setStatus":
		answer(s.setStatus(q.Get("id"), q.Get("status")))
	default:
		answer("BAD_ACTION")
	}
}

func (s *Server) getPrices(w http.ResponseWriter, service, country string) {
	out := map[string]map[string]map[string]any{}
	for c, list := range s.prices {
		for sv, p := range list {
			if (service == "" || service == sv) && (country == "" || country == c) {
				if out[c] == nil {
					out[c] = map[string]map[string]any{}
				}
				out[c][sv] = map[string]any{"cost": json.Number(p.cost), "count": p.count}
			}
		}
	}
	json.NewEncoder(w).Encode(out)
}

func (s *Server) getNumber(service, country string) string {
	known := false
	for _, list := range s.prices {
		known = known || list[service] != nil
	}
	if !known {
		return "BAD_SERVICE"
	}
	p := s.prices[country][service]
	if p == nil || p.count == 0 {
		return "NO_NUMBERS"
	}
	bal, cost := decimal(s.balance), decimal(p.cost)
	if bal < cost {
		return "NO_BALANCE"
	}
	s.balance = strconv.FormatFloat(bal-cost, 'f', -1, 64)
	p.count--
	id := strconv.Itoa(s.next)
	s.next++
	a := &Activation{ID: id, Service: service, Country: country, Phone: fmt.Sprintf("1555%07d", s.next), Bought: s.now()}
	if s.phone != "" {
		a.Phone, s.phone = s.phone, ""
	}
	s.acts[id] = a
	return "ACCESS_NUMBER:" + id + ":" + a.Phone
}

func decimal(v string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

func (s *Server) getStatus(id string) string {
	a := s.acts[id]
	switch {
	case a == nil:
		return "NO_ACTIVATION"
	case a.Status == 8:
		return "STATUS_CANCEL"
	case a.Retry:
		return "STATUS_WAIT_RETRY:" + a.Code
	case a.Code != "":
		return "STATUS_OK:" + a.Code
	}
	return "STATUS_WAIT_CODE"
}

func (s *Server) setStatus(id, status string) string {
	a := s.acts[id]
	if a == nil {
		return "NO_ACTIVATION"
	}
	if a.Status == 6 || a.Status == 8 {
		return "BAD_STATUS"
	}
	switch status {
	case "1":
		a.Status = 1
		return "ACCESS_READY"
	case "3":
		if a.Code == "" {
			return "BAD_STATUS"
		}
		a.Status, a.Retry = 3, true
		return "ACCESS_RETRY_GET"
	case "6":
		a.Status = 6
		return "ACCESS_ACTIVATION"
	case "8":
		if s.now().Sub(a.Bought) < EarlyCancel {
			return "EARLY_CANCEL_DENIED"
		}
		if a.Code != "" {
			return "BAD_STATUS"
		}
		a.Status = 8
		s.balance = strconv.FormatFloat(decimal(s.balance)+decimal(s.prices[a.Country][a.Service].cost), 'f', -1, 64)
		return "ACCESS_CANCEL"
	}
	return "BAD_STATUS"
}
