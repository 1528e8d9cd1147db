package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/metrics"
	"github.com/faceoptout/faceoptout/exclusion/pgstore"
)

// pollOnly hides a store's wake-ups: the replica then reads the feed only
// every poll interval (the baseline the bench compares against).
type pollOnly struct{ *pgstore.Store }

func (pollOnly) Wake() <-chan struct{} { return nil }

// serveFlags are the flags of "replicas serve".
type serveFlags struct {
	dsn, schema, listen string
	models              string
	checks              int
	approximateAbove    int
	poll, maxStale      time.Duration
	wake, control       bool
}

func parseServe(args []string) (serveFlags, error) {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&f.dsn, "dsn", os.Getenv("FACEOPTOUT_PG"), "PostgreSQL connection string (default $FACEOPTOUT_PG)")
	fs.StringVar(&f.schema, "schema", "faceoptout", "schema holding the registry")
	fs.StringVar(&f.models, "models", "", "dlib models directory: check with dlib (a registry made by faceoptout init); empty: the stand-in embedder of the bench")
	fs.StringVar(&f.listen, "listen", "", "HTTP address for /check, /index/status and /metrics (none if empty)")
	fs.IntVar(&f.checks, "checks", 0, "CheckFaces per second of background load (0: none)")
	fs.DurationVar(&f.poll, "poll", time.Second, "feed poll interval (the bound when a wake-up is lost)")
	fs.DurationVar(&f.maxStale, "max-staleness", 0, "answer unchecked past this staleness (0: no bound)")
	fs.BoolVar(&f.wake, "wake", true, "wake up on LISTEN/NOTIFY (false: poll only)")
	fs.BoolVar(&f.control, "control", false, "read bench commands on stdin, write reports on stdout")
	if v := os.Getenv(registrydir.ApproximateAboveEnv); v != "" {
		n, err := registrydir.ParseApproximateAbove(v)
		if err != nil {
			return f, fmt.Errorf("serve: $%s: %w", registrydir.ApproximateAboveEnv, err)
		}
		f.approximateAbove = n
	}
	fs.IntVar(&f.approximateAbove, "approximate-above", f.approximateAbove,
		"let an HNSW graph answer face searches above this many faces of a model, built in the background (0: exact; default $"+registrydir.ApproximateAboveEnv+")")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.approximateAbove < 0 {
		return f, fmt.Errorf("serve: -approximate-above %d is negative", f.approximateAbove)
	}
	if f.dsn == "" {
		return f, errors.New("serve: -dsn or $FACEOPTOUT_PG is required")
	}
	return f, nil
}

// serve runs one replica process until SIGINT/SIGTERM (or stdin closes
// under -control).
func serve(args []string) error {
	f, err := parseServe(args)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("pid", os.Getpid())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	scfg := pgstore.DefaultConfig()
	scfg.DSN, scfg.Schema, scfg.MaxConns = f.dsn, f.schema, 4
	st, err := pgstore.Open(ctx, scfg)
	if err != nil {
		return err
	}
	var fst exclusion.FeedStore = st
	if !f.wake {
		fst = pollOnly{st}
	}
	var emb embed.Embedder = idEmbedder{}
	if f.models != "" {
		dcfg := embed.DefaultDlibConfig()
		dcfg.ModelsDir = f.models
		d, err := embed.NewDlib(dcfg)
		if err != nil {
			st.Close()
			return err
		}
		defer d.Close()
		emb = d
	}
	rcfg := exclusion.DefaultReplicaConfig()
	rcfg.PollInterval, rcfg.MaxStaleness, rcfg.Logger = f.poll, f.maxStale, log
	rcfg.Registry.Index.ApproximateAbove = f.approximateAbove
	start := time.Now()
	p, err := exclusion.NewReplica(ctx, fst, emb, rcfg)
	if err != nil {
		st.Close()
		return err
	}
	defer p.Close()
	flt, err := exclusion.NewFilter(p.Registry(), emb, exclusion.DefaultFilterConfig())
	if err != nil {
		return err
	}
	preg := prometheus.NewRegistry()
	m, err := metrics.New(preg)
	if err != nil {
		return err
	}
	if err := m.WatchReplica(p); err != nil {
		return err
	}
	mf := m.Filter(flt)
	log.Info("replica serving", "faces", p.Status().Faces, "seq", p.Status().Applied, "start", time.Since(start))
	if f.listen != "" {
		l, err := net.Listen("tcp", f.listen)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(preg, promhttp.HandlerOpts{}))
		mux.Handle("/index/status", metrics.StatusHandler(p))
		mux.HandleFunc("POST /check", func(w http.ResponseWriter, r *http.Request) {
			var in struct {
				Descriptors []embed.Descriptor `json:"descriptors"`
			}
			if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(mf.CheckFaces(r.Context(), in.Descriptors))
		})
		mux.HandleFunc("POST /check-image", func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(io.LimitReader(r.Body, 20<<20))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(mf.CheckImageBytes(r.Context(), body))
		})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(l) }()
		defer srv.Close()
		log.Info("listening", "addr", l.Addr().String())
	}
	if !f.control {
		<-ctx.Done()
		return nil
	}
	return control(ctx, p, mf, f.checks)
}

// control runs the bench protocol: commands on stdin, one per line:
//
//	W id block|allow   check identity id until the verdict is that, then report "R id verdict unixnano"
//	C id               check once, report "C id verdict"
//	S                  report "S {status json}"
//	Q                  report "Q checks seconds" (background load so far)
//
// Between commands it runs the background load: -checks CheckFaces per
// second, on watched identities first, else on strangers.
func control(ctx context.Context, p *exclusion.Replica, f *metrics.Filter, rate int) error {
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	fmt.Fprintf(out, "READY %d %d\n", p.Status().Applied, p.Status().Faces)
	out.Flush()
	cmds := make(chan string, 1024)
	go func() {
		defer close(cmds)
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			cmds <- sc.Text()
		}
	}()
	type watch struct {
		id   int
		want exclusion.Verdict
	}
	var watches []watch
	next, checks, background, stranger := 0, 0, 0, 1<<23
	began := time.Now()
	every := time.Hour
	if rate > 0 {
		every = time.Second / time.Duration(rate)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	check := func(id int) exclusion.Verdict {
		checks++
		return f.CheckFaces(ctx, []embed.Descriptor{descriptor(id)}).Verdict
	}
	// probe checks watched identity i, reporting and dropping it once seen.
	probe := func(i int) {
		w := watches[i]
		if v := check(w.id); v == w.want {
			fmt.Fprintf(out, "R %d %s %d\n", w.id, v, time.Now().UnixNano())
			watches[i] = watches[len(watches)-1]
			watches = watches[:len(watches)-1]
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-cmds:
			if !ok {
				return nil
			}
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			id := 0
			if len(fields) > 1 {
				id, _ = strconv.Atoi(fields[1])
			}
			switch fields[0] {
			case "W":
				want := exclusion.Block
				if len(fields) > 2 && fields[2] == "allow" {
					want = exclusion.Allow
				}
				watches = append(watches, watch{id, want})
				probe(len(watches) - 1) // at once: the change may be applied already
			case "C":
				fmt.Fprintf(out, "C %d %s\n", id, check(id))
			case "S":
				b, _ := json.Marshal(p.Status())
				fmt.Fprintf(out, "S %s\n", b)
			case "Q":
				fmt.Fprintf(out, "Q %d %.3f\n", checks, time.Since(began).Seconds())
			}
		case <-tick.C:
			// Catch up on ticks the ticker dropped, so the load is the rate
			// asked for even on a busy machine.
			due := int(time.Since(began).Seconds()*float64(rate)) - background
			for range min(due, 100) {
				background++
				if len(watches) > 0 {
					next = (next + 1) % len(watches)
					probe(next)
				} else {
					stranger = 1<<23 + (stranger+1)%(1<<22)
					check(stranger)
				}
			}
		}
		if len(cmds) == 0 {
			out.Flush()
		}
	}
}
