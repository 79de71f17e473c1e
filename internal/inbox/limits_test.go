package inbox_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/inbox"
)

// TestStreamsPerUser: a user's stream beyond StreamsPerUser closes the
// user's oldest; the others stay.
func TestStreamsPerUser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{})
		user := e.newUser(t)
		streams := make([]*sseClient, inbox.DefaultStreamsPerUser)
		for i := range streams {
			streams[i] = e.openStream(t, user, nil, "")
			wantOpening(t, streams[i].next(t), "0")
		}
		newest := e.openStream(t, user, nil, "")
		wantOpening(t, newest.next(t), "0")
		if got := streams[0].rest(t); len(got) != 0 {
			t.Fatalf("oldest stream sent %+v, want its end", got)
		}
		waitStreams(t, e, inbox.DefaultStreamsPerUser)
		wantOpen(t, e, user, append(streams[1:], newest)...)
	})
}

// openFrom asks for userID's stream as the client at addr, and returns the
// status and body of a refusal, or 200 and the open stream.
func (e *env) openFrom(t testing.TB, userID, addr string) (int, []byte, *http.Response) {
	t.Helper()
	// A stream opened instead would never end: bound the wait.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.server.URL+"/v1/inbox/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(userID))
	req.Header.Set("X-Forwarded-For", addr)
	resp, body := send(t, e, req)
	return resp.StatusCode, body, resp
}

// TestStreamsPerIP: a stream beyond StreamsPerIP from one address (an IPv6
// client's /64) is refused, 429 with Retry-After; other addresses are not
// affected, and a slot freed is taken again.
func TestStreamsPerIP(t *testing.T) {
	const perIP = 2
	tests := []struct{ full, same, other string }{
		{"192.0.2.1", "192.0.2.1", "192.0.2.2"},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:3::1"},
	}
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{perIP: perIP})
		for _, tt := range tests {
			var held []*sseClient
			for range perIP {
				s := e.openStream(t, e.newUser(t), http.Header{"X-Forwarded-For": {tt.full}}, "")
				wantOpening(t, s.next(t), "0")
				held = append(held, s)
			}
			status, body, resp := e.openFrom(t, e.newUser(t), tt.same)
			wantError(t, status, body, http.StatusTooManyRequests, "too_many_streams")
			if got := resp.Header.Get("Retry-After"); got != "30" {
				t.Errorf("%s: Retry-After %q, want 30", tt.same, got)
			}
			s := e.openStream(t, e.newUser(t), http.Header{"X-Forwarded-For": {tt.other}}, "")
			wantOpening(t, s.next(t), "0")
			s.Close()

			held[0].Close()
			waitStreams(t, e, perIP-1)
			again := e.openStream(t, e.newUser(t), http.Header{"X-Forwarded-For": {tt.same}}, "")
			wantOpening(t, again.next(t), "0")
			again.Close()
			held[1].Close()
			waitStreams(t, e, 0)
		}
	})
}

// TestStreamRefusalsEvictNothing: a stream refused (bad input, too many
// from the address) does not count against its user's streams, and the
// refusal keeps the nested error shape.
func TestStreamRefusalsEvictNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		e := newEnv(t, url, options{perUser: 2, perIP: 3})
		user := e.newUser(t)
		first, second := e.openStream(t, user, nil, ""), e.openStream(t, user, nil, "")
		first.next(t)
		second.next(t)
		e.openStream(t, e.newUser(t), nil, "").next(t) // the address's third
		for i, v := range []string{"abc", "msg_", "-1"} {
			req, err := http.NewRequest(http.MethodGet, e.server.URL+"/v1/inbox/stream", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token(user))
			req.Header.Set("Last-Event-ID", v)
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("192.0.2.%d", i+1))
			resp, body := send(t, e, req)
			wantError(t, resp.StatusCode, body, http.StatusBadRequest, "invalid_last_event_id")
		}
		status, body, _ := e.openFrom(t, user, "127.0.0.1")
		wantError(t, status, body, http.StatusTooManyRequests, "too_many_streams")
		waitStreams(t, e, 3)
		wantOpen(t, e, user, first, second)
	})
}
