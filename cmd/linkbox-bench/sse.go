package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// sseConnectTimeout bounds dialing and reading a stream's response headers.
const sseConnectTimeout = 30 * time.Second

// sseConn is one open event stream on a raw connection: no transport
// goroutines and small buffers, so the tool can hold ten thousand.
type sseConn struct {
	conn net.Conn
	body io.Reader // the decoded (de-chunked) response body
}

// dialSSE opens GET path on base with header and reads the response headers;
// a status other than 200 is an error.
func dialSSE(ctx context.Context, base, path string, header http.Header) (*sseConn, error) {
	u, err := url.Parse(base + path)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: sseConnectTimeout}
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("dial stream: %w", err)
	}
	req := &http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: header.Clone()}
	req.Header.Set("Accept", "text/event-stream")
	_ = conn.SetDeadline(time.Now().Add(sseConnectTimeout))
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("send stream request: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 512), req)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("read stream response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("stream: %s", resp.Status)
	}
	_ = conn.SetDeadline(time.Time{})
	return &sseConn{conn: conn, body: resp.Body}, nil
}

func (c *sseConn) Close() error { return c.conn.Close() }

// events calls onData with the value of each "data:" line until the stream
// ends, and returns why it ended.
func (c *sseConn) events(onData func(data []byte)) error {
	return readEvents(c.body, onData)
}

// readEvents scans an SSE stream for data lines.
func readEvents(r io.Reader, onData func(data []byte)) error {
	br := bufio.NewReaderSize(r, 1024)
	for {
		line, err := br.ReadBytes('\n')
		if data, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			onData(bytes.TrimSpace(data))
		}
		if err != nil {
			return err
		}
	}
}

// nonceMark precedes a notification's nonce in its message text.
const nonceMark = "bench#"

// benchMessage is the message text carrying nonce.
func benchMessage(nonce uint64) string {
	return fmt.Sprintf("Linkbox bench %s%d#", nonceMark, nonce)
}

// findNonce returns the nonce of a bench message inside data, which may be
// JSON around the text.
func findNonce(data []byte) (uint64, bool) {
	_, rest, ok := bytes.Cut(data, []byte(nonceMark))
	if !ok {
		return 0, false
	}
	digits, _, ok := bytes.Cut(rest, []byte("#"))
	if !ok || len(digits) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}
