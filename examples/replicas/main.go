// Command replicas runs faceoptout's filter as several processes on one
// PostgreSQL registry, and measures how fast approvals and withdrawals
// reach them.
//
//	replicas serve -dsn postgres://... [-listen 127.0.0.1:8081] [-max-staleness 1m] [-models models]
//	replicas bench [-replicas 3] [-rate 100] [-checks 1000] [-duration 10s] [-out report.md]
//	replicas start [-n 100000,1000000] [-checks 1000] [-faces facesim|standin] [-faces-dir dir] [-out report.md]
//
// serve is one replica process (a crawler's or search service's filter):
// it loads the registry, follows its change feed, and serves POST /check
// (descriptors as JSON), POST /check-image (image bytes), GET /index/status
// and GET /metrics (Prometheus); it logs as JSON (log/slog) on stderr.
// With -models it checks with dlib, on a registry the operator CLI made:
//
//	faceoptout init --registry postgres://127.0.0.1:5432/postgres
//	replicas serve -dsn postgres://127.0.0.1:5432/postgres -models models -listen 127.0.0.1:8081 &
//	replicas serve -dsn postgres://127.0.0.1:5432/postgres -models models -listen 127.0.0.1:8082 &
//	faceoptout submit --registry postgres://... ... ; faceoptout approve --registry postgres://... ID
//	curl -s 127.0.0.1:8081/index/status   # applied and faces grow at once, on every replica
//
// bench starts a throwaway PostgreSQL cluster, fills a registry, starts the replica processes and measures:
// the time from each approval (and withdrawal) to the moment every replica
// process answers it in CheckFaces, poll-only replicas beside LISTEN/NOTIFY
// ones; a replica killed with SIGKILL mid-stream; PostgreSQL stopped and
// restarted mid-stream. start measures, at each size n of a registry of
// approved faces, how long a replica process takes to serve from the store
// and from its snapshot, its heap and resident memory per face, and the
// p50 and p99 of a face check.
//
// Faces come from a stand-in embedder (one identity per photo colour), so
// that the figures are about the registry, the feed and the replicas; the
// filter, the index and the store are the real ones. start enrols and
// probes dlib-like descriptors by default (internal/facesim, fitted to the
// shared idols' dlib descriptors, from idols/idols.json in -faces-dir), so
// that its check times are those of dlib faces; -faces standin uses the
// stand-in embedder's unit vectors.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: replicas serve|bench|start [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "bench":
		err = bench(os.Args[2:])
	case "start":
		err = startBench(os.Args[2:])
	case "start-child":
		err = startChildMain(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "replicas:", err)
		os.Exit(1)
	}
}
