package app

import (
	"net"
	"testing"
	"time"
)

// TestLimitConns: the listener holds at most its bound of connections at
// once; the next waits until one closes, rather than taking a file the
// store needs.
func TestLimitConns(t *testing.T) {
	const limit = 64 // below the reserve: half of it goes to connections
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, n := limitConns(raw, limit)
	defer ln.Close()
	if n != limit/2 {
		t.Fatalf("bound %d, want %d", n, limit/2)
	}
	accepted := make(chan net.Conn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	var held []net.Conn
	for i := range n + 1 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer c.Close()
		if i < n {
			held = append(held, <-accepted)
		}
	}
	select {
	case <-accepted:
		t.Fatalf("connection %d accepted, want it to wait", n+1)
	case <-time.After(50 * time.Millisecond):
	}
	held[0].Close()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("a freed connection did not let the waiting one in")
	}
	for _, c := range held[1:] {
		c.Close()
	}
}
