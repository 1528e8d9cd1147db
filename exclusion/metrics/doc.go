// Package metrics exports what operators watch on faceoptout processes as
// Prometheus metrics (github.com/prometheus/client_golang): verdicts by
// kind, check latency, embedder stage times, the number of faces that
// block, and, for replicas,
// the feed sequence, lag and staleness. The exclusion package itself does
// not import Prometheus: this package wraps a Filter and reads a Replica's
// Status.
//
// # Basics
//
//	m := metrics.New(prometheus.DefaultRegisterer) // or a prometheus.NewRegistry()
//	flt, err := exclusion.NewFilter(reg, m.Embedder(dlib), cfg) // stage times of *embed.Dlib
//	f := m.Filter(flt)                              // same checks, counted and timed
//	m.WatchReplica(replica)                         // or m.WatchRegistry(reg) for a writer
//	http.Handle("/metrics", promhttp.Handler())
//	http.Handle("/index/status", metrics.StatusHandler(replica))
//
// Metrics (all prefixed faceoptout_):
//
//	checks_total{op,verdict}        counter: decisions by operation (faces, image, url, item) and verdict
//	check_seconds{op}               histogram: time per decision
//	embed_stage_seconds{stage}      histogram: embedder stage times (Metrics.Embedder over *embed.Dlib)
//	faces                           gauge: faces that block (the live index's size)
//	index_approximate               gauge: 1 when an HNSW graph answers some face searches (exclusion.IndexConfig)
//	index_building                  gauge: 1 while such a graph is built in the background
//	feed_applied_seq, feed_head_seq gauges: last applied and newest seen feed sequence (replicas)
//	feed_lag                        gauge: changes seen but not applied
//	staleness_seconds               gauge: time since the replica last confirmed it was up to date
//	stale                           gauge: 1 while past MaxStaleness (checks answer unchecked)
//
// # Caveats
//
// One Metrics per Registerer: New registers its collectors and a second New
// on the same Registerer fails (it panics, as promauto does, only through
// MustNew). WatchReplica and WatchRegistry watch one object each per
// Metrics.
//
// # Security Considerations
//
// Metrics and the status endpoint carry counts and sequence numbers only:
// no request ids, no descriptors, nothing about the faces checked. Serve
// them on an operator-only listener all the same.
package metrics
