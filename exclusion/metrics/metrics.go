package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/index"
)

// ErrWatching means the Metrics already watch a replica or registry.
var ErrWatching = errors.New("metrics: already watching")

// Metrics holds the collectors, registered on one Registerer. Safe for
// concurrent use.
type Metrics struct {
	reg     prometheus.Registerer
	checks  *prometheus.CounterVec
	latency *prometheus.HistogramVec
	stages  *prometheus.HistogramVec

	mu       sync.Mutex // guards watching
	watching bool
}

// New creates the collectors and registers them on r.
func New(r prometheus.Registerer) (*Metrics, error) {
	if r == nil {
		return nil, errors.New("metrics: nil Registerer")
	}
	m := &Metrics{
		reg: r,
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "faceoptout", Name: "checks_total",
			Help: "Decisions by operation and verdict (allow, block, review, unchecked).",
		}, []string{"op", "verdict"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "faceoptout", Name: "check_seconds",
			Help:    "Time per decision, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14), // 100 µs .. ~15 s
		}, []string{"op"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "faceoptout", Name: "embed_stage_seconds",
			Help:    "Time per embedder stage (decode, convert, wait, detect, describe) and call.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14),
		}, []string{"stage"}),
	}
	for _, c := range []prometheus.Collector{m.checks, m.latency, m.stages} {
		if err := r.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return m, nil
}

// MustNew is New that panics on error, for programs' start-up.
func MustNew(r prometheus.Registerer) *Metrics {
	m, err := New(r)
	if err != nil {
		panic(err)
	}
	return m
}

func (m *Metrics) observe(op string, start time.Time, v exclusion.Verdict) {
	m.checks.WithLabelValues(op, v.String()).Inc()
	m.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// gauges registers the gauges computed from f at each scrape.
func (m *Metrics) gauges(fs map[string]func() float64, help map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watching {
		return ErrWatching
	}
	for name, f := range fs {
		g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "faceoptout", Name: name, Help: help[name]}, f)
		if err := m.reg.Register(g); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	m.watching = true
	return nil
}

// indexGauges adds to fs and help the gauges of reg's face indexes.
func indexGauges(reg func() *exclusion.Registry, fs map[string]func() float64, help map[string]string) {
	flag := func(f func(index.Status) bool) func() float64 {
		return func() float64 {
			for _, s := range reg().IndexStatus() {
				if f(s) {
					return 1
				}
			}
			return 0
		}
	}
	fs["index_approximate"] = flag(func(s index.Status) bool { return !s.Exact })
	fs["index_building"] = flag(func(s index.Status) bool { return s.Building })
	help["index_approximate"] = "1 when an HNSW graph answers some face searches (exclusion.IndexConfig), 0 when every one is exact."
	help["index_building"] = "1 while an HNSW graph is built in the background (the exact index answers meanwhile)."
}

// WatchRegistry exports the number of faces that block in reg and which
// index answers its face searches.
func (m *Metrics) WatchRegistry(reg *exclusion.Registry) error {
	fs := map[string]func() float64{
		"faces": func() float64 { return float64(reg.Len()) },
	}
	help := map[string]string{"faces": "Faces that block (enrolled faces of approved requests)."}
	indexGauges(func() *exclusion.Registry { return reg }, fs, help)
	return m.gauges(fs, help)
}

// WatchReplica exports the replica's index size, feed sequence numbers,
// lag and staleness, read from its Status at each scrape, and which index
// answers its face searches.
func (m *Metrics) WatchReplica(p *exclusion.Replica) error {
	st := func(f func(exclusion.ReplicaStatus) float64) func() float64 {
		return func() float64 { return f(p.Status()) }
	}
	fs := map[string]func() float64{
		"faces":             st(func(s exclusion.ReplicaStatus) float64 { return float64(s.Faces) }),
		"feed_applied_seq":  st(func(s exclusion.ReplicaStatus) float64 { return float64(s.Applied) }),
		"feed_head_seq":     st(func(s exclusion.ReplicaStatus) float64 { return float64(s.Head) }),
		"feed_lag":          st(func(s exclusion.ReplicaStatus) float64 { return float64(s.Lag()) }),
		"staleness_seconds": st(func(s exclusion.ReplicaStatus) float64 { return s.Staleness.Seconds() }),
		"stale": st(func(s exclusion.ReplicaStatus) float64 {
			if s.Stale {
				return 1
			}
			return 0
		}),
	}
	help := map[string]string{
		"faces":             "Faces that block (enrolled faces of approved requests).",
		"feed_applied_seq":  "Sequence number of the last change feed entry applied.",
		"feed_head_seq":     "Newest change feed sequence number seen.",
		"feed_lag":          "Feed changes seen but not yet applied.",
		"staleness_seconds": "Seconds since the replica last confirmed it had applied every change.",
		"stale":             "1 while the replica is past its staleness bound and answers unchecked.",
	}
	indexGauges(p.Registry, fs, help)
	return m.gauges(fs, help)
}

// Filter wraps an exclusion.Filter: the same decisions, counted by verdict
// and timed. Safe for concurrent use.
type Filter struct {
	f *exclusion.Filter
	m *Metrics
}

// Filter returns f wrapped.
func (m *Metrics) Filter(f *exclusion.Filter) *Filter { return &Filter{f: f, m: m} }

// Unwrap returns the wrapped Filter.
func (f *Filter) Unwrap() *exclusion.Filter { return f.f }

// CheckFaces is exclusion.Filter.CheckFaces, observed as op "faces".
func (f *Filter) CheckFaces(ctx context.Context, faces []embed.Descriptor) exclusion.Decision {
	t := time.Now()
	d := f.f.CheckFaces(ctx, faces)
	f.m.observe("faces", t, d.Verdict)
	return d
}

// CheckImageBytes is exclusion.Filter.CheckImageBytes, observed as op
// "image".
func (f *Filter) CheckImageBytes(ctx context.Context, data []byte) exclusion.Decision {
	t := time.Now()
	d := f.f.CheckImageBytes(ctx, data)
	f.m.observe("image", t, d.Verdict)
	return d
}

// CheckImage is exclusion.Filter.CheckImage, observed as op "image".
func (f *Filter) CheckImage(ctx context.Context, r io.Reader) exclusion.Decision {
	t := time.Now()
	d := f.f.CheckImage(ctx, r)
	f.m.observe("image", t, d.Verdict)
	return d
}

// CheckURL is exclusion.Filter.CheckURL, observed as op "url".
func (f *Filter) CheckURL(ctx context.Context, rawURL string) exclusion.Decision {
	t := time.Now()
	d := f.f.CheckURL(ctx, rawURL)
	f.m.observe("url", t, d.Verdict)
	return d
}

// Check is exclusion.Filter.Check, observed as op "item".
func (f *Filter) Check(ctx context.Context, it exclusion.Item) exclusion.Decision {
	t := time.Now()
	d := f.f.Check(ctx, it)
	f.m.observe("item", t, d.Verdict)
	return d
}

// StatusHandler serves the replica's status as JSON (GET only): feed
// sequence numbers, lag, staleness, faces, the last error, and per model
// which index answers the face searches (exclusion.Registry.IndexStatus). It answers 503
// while the replica is past its staleness bound, so load balancers can take
// it out of rotation.
func StatusHandler(p *exclusion.Replica) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s := p.Status()
		out := struct {
			exclusion.ReplicaStatus
			Lag              uint64         `json:"lag"`
			StalenessSeconds float64        `json:"staleness_seconds"`
			Index            []index.Status `json:"index"` // per model: which index answers, a graph build's progress
		}{s, s.Lag(), s.Staleness.Seconds(), p.Registry().IndexStatus()}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if s.Stale {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(out)
	})
}
