// Package metrics is Linkbox's Prometheus instrumentation: one registry per
// process holding the HTTP requests by route pattern, the platform's
// counters (rate-limit refusals, outbox deliveries, SQLite group commits),
// gauges read when scraped (open event streams, outbox depth, store
// pools), and the Go runtime and process collectors.
//
// The packages it measures do not import it: each offers a hook or a
// reading (httpx.WithAccessLog's observers, ratelimit.Observed, outbox.Outbox.Observe and Depths,
// db.Options.OnGroupCommit and DB.Pools, inbox.Service.OpenStreams), and
// the app connects them here.
package metrics

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/linkbox/linkbox/internal/httpx"
)

// Metrics is one process's registry and the instruments written to as the
// process runs.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// counters and observers hold the series of each route (and status)
	// met, so that a request does not hash its labels again: the routes
	// are the mux's patterns, few and fixed.
	counters   sync.Map // routeCode → prometheus.Counter
	observers  sync.Map // route → prometheus.Observer
	refusals   *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	groups     prometheus.Histogram
}

// New returns a registry with the process's instruments and the Go runtime
// and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linkbox_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "linkbox_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern; event streams are left out (they last as long as their client stays).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linkbox_ratelimit_refusals_total",
			Help: "Takes and peeks refused by a rate limit or budget, by limit.",
		}, []string{"limit"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linkbox_deliveries_total",
			Help: "Outbox delivery attempts, by kind, provider and result (sent or failed).",
		}, []string{"kind", "provider", "result"}),
		groups: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "linkbox_db_group_commit_size",
			Help:    "Transactions carried by one SQLite commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.refusals, m.deliveries, m.groups,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Unmatched is the route label of a request no route took: the path itself
// would let any client add label values without end.
const Unmatched = "unmatched"

// Served counts one request under the pattern of the route that took it
// ("GET /v1/inbox/{id}"; Unmatched when none did), with its status and,
// unless it was an event stream, its latency: the access log's observer
// (httpx.WithAccessLog), which has timed it already.
func (m *Metrics) Served(s httpx.Served) {
	route := s.Pattern
	if route == "" {
		route = Unmatched
	}
	m.counter(route, s.Status).Inc()
	if !s.Stream {
		m.observer(route).Observe(s.Duration.Seconds())
	}
}

type routeCode struct {
	route string
	code  int
}

func (m *Metrics) counter(route string, code int) prometheus.Counter {
	k := routeCode{route, code}
	if c, ok := m.counters.Load(k); ok {
		return c.(prometheus.Counter)
	}
	c, _ := m.counters.LoadOrStore(k, m.requests.WithLabelValues(route, strconv.Itoa(code)))
	return c.(prometheus.Counter)
}

func (m *Metrics) observer(route string) prometheus.Observer {
	if o, ok := m.observers.Load(route); ok {
		return o.(prometheus.Observer)
	}
	o, _ := m.observers.LoadOrStore(route, m.latency.WithLabelValues(route))
	return o.(prometheus.Observer)
}

// Refused counts one refusal by the named limit (ratelimit.Observed's hook).
func (m *Metrics) Refused(limit string) { m.refusals.WithLabelValues(limit).Inc() }

// Delivered counts one outbox attempt of kind through provider; err nil is
// a message sent.
func (m *Metrics) Delivered(kind, provider string, err error) {
	result := "sent"
	if err != nil {
		result = "failed"
	}
	m.deliveries.WithLabelValues(kind, provider, result).Inc()
}

// GroupCommitted records the size of one SQLite group commit
// (db.Options.OnGroupCommit's hook).
func (m *Metrics) GroupCommitted(size int) { m.groups.Observe(float64(size)) }

// Streams reports open, called at each scrape, as the open event streams.
func (m *Metrics) Streams(open func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "linkbox_sse_streams_open",
		Help: "Event streams open on this instance.",
	}, func() float64 { return float64(open()) }))
}

// Pool is one store pool's counts.
type Pool struct {
	Name        string
	InUse, Idle int
}

// Pools reports read, called at each scrape, as the store's connections.
func (m *Metrics) Pools(read func() []Pool) {
	m.reg.MustRegister(&poolCollector{read: read, desc: prometheus.NewDesc("linkbox_db_connections",
		"Store connections by pool and state (in_use or idle).", []string{"pool", "state"}, nil)})
}

type poolCollector struct {
	read func() []Pool
	desc *prometheus.Desc
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.read() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(p.InUse), p.Name, "in_use")
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(p.Idle), p.Name, "idle")
	}
}

// Queue is one outbox kind's pending messages.
type Queue struct {
	Kind    string
	Pending int
	Oldest  time.Duration
}

// scrapeTimeout bounds the store query a scrape makes.
const scrapeTimeout = 2 * time.Second

// Outbox reports read, called at each scrape with a bounded context, as
// the outbox's depth and oldest age per kind. A failed read is logged and
// leaves the two series out of that scrape, rather than failing it.
func (m *Metrics) Outbox(read func(ctx context.Context) ([]Queue, error), log *slog.Logger) {
	m.reg.MustRegister(&outboxCollector{read: read, log: log,
		depth: prometheus.NewDesc("linkbox_outbox_depth", "Outbox messages waiting to be delivered, by kind.", []string{"kind"}, nil),
		age:   prometheus.NewDesc("linkbox_outbox_oldest_seconds", "Age of the oldest message waiting, by kind (0: none waits).", []string{"kind"}, nil),
	})
}

type outboxCollector struct {
	read       func(ctx context.Context) ([]Queue, error)
	log        *slog.Logger
	depth, age *prometheus.Desc
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.depth; ch <- c.age }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	qs, err := c.read(ctx)
	if err != nil {
		c.log.Error("metrics: reading the outbox's depth failed", "err", err)
		return
	}
	for _, q := range qs {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(q.Pending), q.Kind)
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, q.Oldest.Seconds(), q.Kind)
	}
}

// Handler serves the registry in Prometheus's text format. With token set,
// a request must carry "Authorization: Bearer <token>" or is refused 401.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
