package realtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// MaxPayload is the largest notification payload (topic + "\n" + data) that
// Postgres publishes; PostgreSQL's own limit is just under 8000 bytes.
const MaxPayload = 7900

// publishTimeout bounds a Publish, waiting for the turn, reconnecting and
// notifying included.
const publishTimeout = 2 * time.Second

const (
	minBackoff   = 100 * time.Millisecond
	maxBackoff   = 10 * time.Second
	closeTimeout = 2 * time.Second
	pingTimeout  = 5 * time.Second
	// maxChannelLen is NAMEDATALEN-1: PostgreSQL truncates longer names, and a
	// truncated LISTEN would not hear pg_notify on the full name.
	maxChannelLen = 63
)

var (
	// ErrPayloadTooLarge is returned by Postgres.Publish when topic, newline
	// and data exceed MaxPayload bytes.
	ErrPayloadTooLarge = errors.New("realtime: payload too large")
	// ErrInvalidEvent is returned by Postgres.Publish for an event that cannot
	// travel as notification text: a topic with a newline, invalid UTF-8 or a
	// NUL byte.
	ErrInvalidEvent = errors.New("realtime: invalid event")
)

var _ Broker = (*Postgres)(nil)

// Postgres is the broker for several instances sharing one PostgreSQL
// database. Publish sends pg_notify(channel, topic+"\n"+data) on a dedicated
// connection; a second dedicated connection LISTENs and hands every
// notification, this instance's own included, to a local Memory. Local
// subscribers therefore see events in the same order as other instances do.
//
// When the listener's connection drops, Postgres reconnects with exponential
// backoff and then sends a resync event (empty Data) to every local topic:
// notifications sent meanwhile are lost, and subscribers must reload from the
// store. The resync follows the new LISTEN, so nothing committed after the
// reload is missed.
type Postgres struct {
	mem         *Memory
	log         *slog.Logger
	config      *pgx.ConnConfig
	channel     string
	healthEvery time.Duration

	// turn is a lock that a waiting Publish can give up on when its ctx ends
	// (send to take it, receive to release it); it guards notify and closed.
	turn   chan struct{}
	notify *pgx.Conn // nil until (re)connected
	closed bool

	// queued are the publishes waiting for the notifier: whoever holds the
	// turn sends them all in one statement.
	queueMu sync.Mutex
	queued  []*pending

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// NewPostgres connects the listener and the notifier to databaseURL and
// starts listening. A nil log discards. The caller must Close it.
func NewPostgres(ctx context.Context, databaseURL string, log *slog.Logger, opts ...Option) (*Postgres, error) {
	s := newSettings(opts)
	if s.channel == "" || len(s.channel) > maxChannelLen {
		return nil, fmt.Errorf("realtime: channel name %q must have 1 to %d bytes", s.channel, maxChannelLen)
	}
	config, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("realtime: parse database URL: %w", err)
	}
	if _, ok := config.RuntimeParams["application_name"]; !ok {
		config.RuntimeParams["application_name"] = "linkbox-realtime"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Postgres{
		mem: NewMemory(), log: log, config: config,
		channel: s.channel, healthEvery: s.healthEvery,
		turn: make(chan struct{}, 1), done: make(chan struct{}),
	}
	if err := p.start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Postgres) start(ctx context.Context) error {
	listener, err := p.listen(ctx)
	if err != nil {
		return err
	}
	p.notify, err = pgx.ConnectConfig(ctx, p.config)
	if err != nil {
		closeConn(listener)
		return fmt.Errorf("realtime: connect notifier: %w", err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	p.stop = stop
	go p.run(runCtx, listener)
	return nil
}

// Subscribe registers r for the events of topic on this instance, as
// Memory.Subscribe does.
func (p *Postgres) Subscribe(topic string, r Receiver) *Subscription {
	return p.mem.Subscribe(topic, r)
}

// pending is one Publish waiting for the notifier; done receives its
// outcome.
type pending struct {
	payload string
	done    chan error
}

// Publish sends e to the subscribers of e.Topic on every instance, this one
// included. It waits for the server to accept the notification; it does not
// wait for delivery. Publishes that queue while the notifier is busy go
// together in the next statement, one round trip for all: requests commit
// in parallel and then all wait on this one connection. (Sending NOTIFY in
// the writing transaction instead was measured and dropped: PostgreSQL
// serializes the commits of transactions that notify, WAL flush included,
// which capped notifications near one per fsync.) If the notifier's
// connection turns out to be dead it reconnects and tries once more: a
// duplicate is harmless, since events only tell subscribers to reload. It
// gives up after publishTimeout at most: publishers have committed and wait
// for it.
func (p *Postgres) Publish(ctx context.Context, e Event) error {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	payload, err := encode(e)
	if err != nil {
		return err
	}
	me := &pending{payload: payload, done: make(chan error, 1)}
	p.queueMu.Lock()
	p.queued = append(p.queued, me)
	p.queueMu.Unlock()
	for {
		select {
		case err := <-me.done:
			return err
		case p.turn <- struct{}{}:
			p.flush(ctx)
			<-p.turn
		case <-ctx.Done():
			return fmt.Errorf("realtime: wait to notify: %w", ctx.Err())
		}
	}
}

// flush sends every queued publish in one statement and tells each its
// outcome; the caller holds the turn. The queue may be empty: another
// holder of the turn sent this caller's publish already.
func (p *Postgres) flush(ctx context.Context) {
	p.queueMu.Lock()
	batch := p.queued
	p.queued = nil
	p.queueMu.Unlock()
	if len(batch) == 0 {
		return
	}
	payloads := make([]string, len(batch))
	for i, b := range batch {
		payloads[i] = b.payload
	}
	err := ErrClosed
	if !p.closed {
		hadConn := p.notify != nil
		err = p.send(ctx, payloads)
		if err != nil && hadConn && p.notify == nil && ctx.Err() == nil {
			err = p.send(ctx, payloads)
		}
	}
	for _, b := range batch {
		b.done <- err
	}
}

// send runs pg_notify for each payload in one statement, connecting first
// if needed and forgetting a connection that the failure closed; the caller
// holds the turn.
func (p *Postgres) send(ctx context.Context, payloads []string) error {
	if p.notify == nil {
		conn, err := pgx.ConnectConfig(ctx, p.config)
		if err != nil {
			return fmt.Errorf("realtime: connect notifier: %w", err)
		}
		p.notify = conn
	}
	_, err := p.notify.Exec(ctx, "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload", p.channel, payloads)
	if err == nil {
		return nil
	}
	if p.notify.IsClosed() {
		p.notify = nil
	}
	return fmt.Errorf("realtime: notify: %w", err)
}

// encode returns the notification payload that carries e, checking that it
// can travel as PostgreSQL text and be split back into topic and data; its
// errors are Publish's.
func encode(e Event) (string, error) {
	if strings.ContainsRune(e.Topic, '\n') {
		return "", fmt.Errorf("%w: topic contains a newline", ErrInvalidEvent)
	}
	if n := len(e.Topic) + 1 + len(e.Data); n > MaxPayload {
		return "", fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, n, MaxPayload)
	}
	if !utf8.ValidString(e.Topic) || !utf8.Valid(e.Data) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrInvalidEvent)
	}
	if strings.IndexByte(e.Topic, 0) >= 0 || bytes.IndexByte(e.Data, 0) >= 0 {
		return "", fmt.Errorf("%w: contains a NUL byte", ErrInvalidEvent)
	}
	return e.Topic + "\n" + string(e.Data), nil
}

// Close stops listening, closes both connections and tells every local
// subscription's receiver that the broker closed. Later Publish calls return
// ErrClosed.
func (p *Postgres) Close() {
	p.closeOnce.Do(func() {
		p.stop()
		<-p.done
		p.turn <- struct{}{}
		p.closed = true
		if p.notify != nil {
			closeConn(p.notify)
			p.notify = nil
		}
		<-p.turn
		p.mem.Close()
	})
}

// listen opens a connection and LISTENs on the channel.
func (p *Postgres) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, p.config)
	if err != nil {
		return nil, fmt.Errorf("realtime: connect listener: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{p.channel}.Sanitize()); err != nil {
		closeConn(conn)
		return nil, fmt.Errorf("realtime: listen on %q: %w", p.channel, err)
	}
	return conn, nil
}

// run receives notifications until ctx ends, replacing the connection
// whenever it fails.
func (p *Postgres) run(ctx context.Context, conn *pgx.Conn) {
	defer close(p.done)
	for conn != nil {
		err := p.receive(ctx, conn)
		closeConn(conn)
		if ctx.Err() != nil {
			return
		}
		p.log.Warn("realtime: listener connection lost", "channel", p.channel, "err", err)
		conn = p.reconnect(ctx)
		if conn != nil {
			p.log.Info("realtime: listener reconnected; resyncing subscribers", "channel", p.channel)
			p.mem.resync()
		}
	}
}

// receive hands notifications to the local Memory until the connection
// fails. After healthEvery of silence it pings the server, because a
// half-open TCP connection would otherwise wait forever.
func (p *Postgres) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		waitCtx, cancel := context.WithTimeout(ctx, p.healthEvery)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			p.deliver(n.Payload)
		case ctx.Err() == nil && pgconn.Timeout(err):
			if err := ping(ctx, conn); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

func ping(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("realtime: ping listener: %w", err)
	}
	return nil
}

func (p *Postgres) deliver(payload string) {
	topic, data, ok := strings.Cut(payload, "\n")
	if !ok {
		p.log.Warn("realtime: ignoring notification without a topic", "channel", p.channel)
		return
	}
	// The only possible error is ErrClosed, and Close stops this loop first.
	_ = p.mem.Publish(context.Background(), Event{Topic: topic, Data: []byte(data)})
}

// reconnect retries listen with jittered exponential backoff until it
// succeeds or ctx ends (then it returns nil).
func (p *Postgres) reconnect(ctx context.Context) *pgx.Conn {
	delay := minBackoff
	for {
		wait := time.NewTimer(delay/2 + rand.N(delay/2))
		select {
		case <-ctx.Done():
			wait.Stop()
			return nil
		case <-wait.C:
		}
		conn, err := p.listen(ctx)
		if err == nil {
			return conn
		}
		delay = min(2*delay, maxBackoff)
		p.log.Warn("realtime: listener reconnect failed", "channel", p.channel, "retry_in", delay, "err", err)
	}
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = conn.Close(ctx) // the connection is being discarded; nothing to do on failure
}
