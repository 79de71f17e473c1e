package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// SetRedisLogger sends go-redis's own lines (a failed dial, a dropped
// connection) to log as warnings, each kind at most once per
// outageLogEvery, instead of to stderr in a format of its own, which would
// break a JSON log. go-redis keeps one logger for the whole process, hence
// a function with a process-wide effect: call it once, at start-up.
func SetRedisLogger(log *slog.Logger) {
	redis.SetLogger(newRedisLogger(log, time.Now))
}

// redisLogger is go-redis's Logging over slog. During an outage go-redis
// writes a line per failed dial; Resilient already reports the outage, so
// each format is let through once per outageLogEvery. The formats are the
// library's constants: the map stays small.
type redisLogger struct {
	log *slog.Logger
	now func() time.Time

	mu   sync.Mutex
	last map[string]time.Time // format -> when it was last logged
}

func newRedisLogger(log *slog.Logger, now func() time.Time) *redisLogger {
	return &redisLogger{log: log, now: now, last: map[string]time.Time{}}
}

// Printf implements go-redis's Logging.
func (l *redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if !l.due(format) {
		return
	}
	l.log.WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

// due reports whether a line of format may be written now, and if so
// counts it as written.
func (l *redisLogger) due(format string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if last, ok := l.last[format]; ok && now.Sub(last) < outageLogEvery {
		return false
	}
	l.last[format] = now
	return true
}
