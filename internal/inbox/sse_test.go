package inbox_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// sseBlock is one blank-line-terminated block of an event stream.
type sseBlock struct {
	ID       string
	HasID    bool
	Event    string
	Data     string
	Retry    string
	Comments []string
}

// sseClient reads an event stream in the background, block by block.
type sseClient struct {
	resp      *http.Response
	blocks    chan sseBlock
	cancel    context.CancelFunc
	done      chan struct{} // closed by Close: the reader stops delivering
	closeOnce sync.Once
	readerWG  sync.WaitGroup
}

// openStream opens userID's stream with the extra request headers and query,
// and fails t unless it answers 200.
func (e *env) openStream(t testing.TB, userID string, header http.Header, query string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.server.URL+"/v1/inbox/stream"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(userID))
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e.server.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatalf("open stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("open stream: status %d, want 200; body %s", resp.StatusCode, body)
	}
	c := &sseClient{resp: resp, blocks: make(chan sseBlock), cancel: cancel, done: make(chan struct{})}
	c.readerWG.Go(c.read)
	t.Cleanup(c.Close)
	return c
}

// Close drops the connection, as a client going away does.
func (c *sseClient) Close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.cancel()
		c.resp.Body.Close()
		c.readerWG.Wait()
	})
}

func (c *sseClient) read() {
	defer close(c.blocks)
	sc := bufio.NewScanner(c.resp.Body)
	var b sseBlock
	empty := true
	for sc.Scan() {
		line := sc.Text()
		if line != "" {
			b.add(line)
			empty = false
			continue
		}
		if empty {
			continue
		}
		select {
		case c.blocks <- b:
		case <-c.done:
			return
		}
		b, empty = sseBlock{}, true
	}
}

func (b *sseBlock) add(line string) {
	field, value, _ := strings.Cut(line, ":")
	value = strings.TrimPrefix(value, " ")
	switch field {
	case "":
		b.Comments = append(b.Comments, value)
	case "id":
		b.ID, b.HasID = value, true
	case "event":
		b.Event = value
	case "data":
		b.Data = value
	case "retry":
		b.Retry = value
	}
}

// next returns the next block, failing t if the stream ends or stays silent.
func (c *sseClient) next(t testing.TB) sseBlock {
	t.Helper()
	select {
	case b, ok := <-c.blocks:
		if !ok {
			t.Fatal("stream ended, want another block")
		}
		return b
	case <-time.After(waitTimeout):
		t.Fatalf("no block within %v", waitTimeout)
		return sseBlock{}
	}
}

// nextMessage returns the next message event, skipping comments.
func (c *sseClient) nextMessage(t testing.TB) sseBlock {
	t.Helper()
	for {
		if b := c.next(t); b.Event != "" || b.Data != "" {
			return b
		}
	}
}

// rest waits for the server to end the stream and returns the blocks sent
// before the end.
func (c *sseClient) rest(t testing.TB) []sseBlock {
	t.Helper()
	var got []sseBlock
	timeout := time.After(waitTimeout)
	for {
		select {
		case b, ok := <-c.blocks:
			if !ok {
				return got
			}
			got = append(got, b)
		case <-timeout:
			t.Fatalf("stream still open after %v (blocks so far: %v), want it ended", waitTimeout, got)
		}
	}
}

// ends reports whether the server ends the stream within d, dropping what
// it sends meanwhile; unlike rest, it may run outside the test's goroutine.
func (c *sseClient) ends(d time.Duration) bool {
	timeout := time.After(d)
	for {
		select {
		case _, ok := <-c.blocks:
			if !ok {
				return true
			}
		case <-timeout:
			return false
		}
	}
}
