package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFindNonce(t *testing.T) {
	tests := []struct {
		data string
		want uint64
		ok   bool
	}{
		{`{"id":"msg_1","message":"` + benchMessage(42) + `"}`, 42, true},
		{benchMessage(0), 0, true},
		{`{"message":"hello"}`, 0, false},
		{`bench#12`, 0, false},
		{`bench##`, 0, false},
		{`bench#1x#`, 0, false},
	}
	for _, tt := range tests {
		got, ok := findNonce([]byte(tt.data))
		if got != tt.want || ok != tt.ok {
			t.Errorf("findNonce(%q) = %d, %v; want %d, %v", tt.data, got, ok, tt.want, tt.ok)
		}
	}
}

func TestReadEvents(t *testing.T) {
	stream := ": connected\nretry: 3000\nid: 0\n\nid: 1\nevent: message\ndata: {\"a\":1}\n\ndata:two\n\n"
	var got []string
	err := readEvents(strings.NewReader(stream), func(d []byte) { got = append(got, string(d)) })
	if !errors.Is(err, io.EOF) {
		t.Errorf("readEvents error = %v, want EOF", err)
	}
	if want := []string{`{"a":1}`, "two"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("readEvents data = %q, want %q", got, want)
	}
}

// TestBareStreamDelivers publishes through the bare baseline and reads the
// event on a raw stream connection, as notify-sse does.
func TestBareStreamDelivers(t *testing.T) {
	srv := httptest.NewServer(newBareHandler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dialSSE(ctx, srv.URL, bareStreamPath+"?user=u1", http.Header{})
	if err != nil {
		t.Fatalf("dialSSE: %v", err)
	}
	defer c.Close()
	tr := newTracker()
	done := make(chan error, 1)
	go func() { done <- c.events(tr.received) }()
	// dialSSE returns once the headers are in, which the hub sends after
	// subscribing: the publish cannot miss the stream.
	tr.sent(7, time.Now())
	body := mustJSON(bareBody{UserID: "u1", Message: benchMessage(7)})
	resp, err := http.Post(srv.URL+barePublishPath, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("publish status = %d, want 200", resp.StatusCode)
	}
	lat, lost := tr.settle(ctx)
	if len(lat) != 1 || lost != 0 {
		t.Errorf("settle = %d received, %d lost; want 1, 0", len(lat), lost)
	}
	c.Close()
	<-done
}

func TestBareJSONHandler(t *testing.T) {
	srv := httptest.NewServer(newBareHandler())
	defer srv.Close()
	tests := []struct {
		body string
		want int
	}{
		{`{"user_id":"u","reference":"r","code":"123456"}`, http.StatusOK},
		{`{`, http.StatusBadRequest},
		{``, http.StatusBadRequest},
	}
	for _, tt := range tests {
		resp, err := http.Post(srv.URL+bareJSONPath, "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatalf("post: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("POST %q: status %d, want %d", tt.body, resp.StatusCode, tt.want)
		}
		if tt.want == http.StatusOK && string(b) != string(successJSON) {
			t.Errorf("POST %q: body %q, want %q", tt.body, b, successJSON)
		}
	}
}

func TestHubSkipsFullSubscriber(t *testing.T) {
	h := newHub()
	ch, unsubscribe := h.subscribe("u")
	defer unsubscribe()
	for i := range cap(ch) + 3 {
		n, err := h.publish("u", "m")
		want := 1
		if i >= cap(ch) {
			want = 0
		}
		if err != nil || n != want {
			t.Fatalf("publish %d = %d, %v; want %d, nil", i, n, err, want)
		}
	}
}
