package apptest

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Event is one Server-Sent Event: its fields, comments (heartbeats) apart.
type Event struct{ ID, Name, Data, Retry string }

// Stream opens the inbox's event stream with a Bearer token and returns its
// events as they come, until t ends.
func (s *Stack) Stream(t testing.TB, token string) <-chan Event {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/inbox/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("stream: %s", resp.Status)
	}
	return Events(t, resp.Body)
}

// Events reads an event stream's body until it or t ends.
func Events(t testing.TB, body io.ReadCloser) <-chan Event {
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		body.Close()
	})
	events := make(chan Event)
	go readEvents(body, events, done)
	return events
}

// readEvents sends the events of an event stream on events until the
// stream or done ends.
func readEvents(body io.Reader, events chan<- Event, done <-chan struct{}) {
	defer close(events)
	s := bufio.NewScanner(body)
	var ev Event
	for s.Scan() {
		line := s.Text()
		if line == "" && ev != (Event{}) {
			select {
			case events <- ev:
			case <-done:
				return
			}
			ev = Event{}
		}
		// "field: value", the space optional (the SSE format).
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "id":
			ev.ID = value
		case "event":
			ev.Name = value
		case "data":
			ev.Data = value
		case "retry":
			ev.Retry = value
		}
	}
}

// Next returns the stream's next event, failing after 10 s.
func Next(t testing.TB, events <-chan Event) Event {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event for 10 s")
	}
	return Event{}
}
