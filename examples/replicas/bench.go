package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/pgstore"
	"github.com/faceoptout/faceoptout/internal/pgcluster"
)

type benchFlags struct {
	dsn              string
	replicas, rate   int
	checks, writers  int
	duration, outage time.Duration
	baseline, faults bool
	logPath, outPath string
}

// bench measures, on one PostgreSQL registry and several replica
// processes: approval -> every replica blocks (and withdrawal -> every
// replica allows) at a sustained rate while the replicas run CheckFaces,
// first with poll-only replicas (the baseline), then with LISTEN/NOTIFY;
// then a replica killed with SIGKILL mid-stream, and PostgreSQL stopped and
// restarted mid-stream.
func bench(args []string) error {
	var f benchFlags
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&f.dsn, "dsn", "", "PostgreSQL to use (default: a throwaway cluster on loopback; needed for the outage phase)")
	fs.IntVar(&f.replicas, "replicas", 3, "replica processes")
	fs.IntVar(&f.rate, "rate", 100, "approvals (and withdrawals) per second")
	fs.IntVar(&f.checks, "checks", 1000, "CheckFaces per second in each replica process")
	fs.IntVar(&f.writers, "writers", 4, "writer Registries (each with its own connection pool)")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "length of each phase")
	fs.DurationVar(&f.outage, "outage", 5*time.Second, "how long PostgreSQL is stopped in the outage phase")
	fs.BoolVar(&f.baseline, "baseline", true, "also run the poll-only baseline")
	fs.BoolVar(&f.faults, "faults", true, "also run the kill -9 and outage phases")
	fs.StringVar(&f.logPath, "log", "", "file for the replicas' JSON logs (default: discarded)")
	fs.StringVar(&f.outPath, "out", "", "also write the report to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	var cluster *pgcluster.Cluster
	if f.dsn == "" {
		c, err := pgcluster.Start(ctx, pgcluster.DefaultConfig())
		if err != nil {
			return err
		}
		defer c.Remove()
		cluster, f.dsn = c, c.DSN("postgres")
	}
	logw := io.Discard
	if f.logPath != "" {
		lf, err := os.Create(f.logPath)
		if err != nil {
			return err
		}
		defer lf.Close()
		logw = lf
	}
	b := &benchRun{f: f, cluster: cluster, logw: logw, out: &strings.Builder{}}
	err := b.run(ctx)
	report := b.out.String()
	fmt.Print(report)
	if f.outPath != "" {
		if werr := os.WriteFile(f.outPath, []byte(report), 0o644); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

type benchRun struct {
	f       benchFlags
	cluster *pgcluster.Cluster
	logw    io.Writer
	out     *strings.Builder

	writers []*exclusion.Registry
	ids     []string // request id of identity i (submitted, pending)
	next    int      // next identity to approve

	seenc    chan seen
	mu       sync.Mutex           // guards seenAt
	seenAt   map[[3]int]time.Time // (identity, replica, 1 for block / 0 for allow) -> when first reported
	approved map[int]bool         // identities approved and not withdrawn
	acked    map[int]time.Time    // identity -> when its change was started (last change)
	children []*child
}

func (b *benchRun) printf(format string, args ...any) { fmt.Fprintf(b.out, format, args...) }

func (b *benchRun) run(ctx context.Context) error {
	f := b.f
	host, _ := os.Hostname()
	load, _ := os.ReadFile("/proc/loadavg")
	b.printf("# examples/replicas bench\n\n%s on %s, load average at start: %s\n", time.Now().UTC().Format(time.RFC3339), host, strings.TrimSpace(string(load)))
	b.printf("%d replica processes, %d CheckFaces/s in each, %d approvals/s (and withdrawals/s) from %d writers, phases of %v\n\n",
		f.replicas, f.checks, f.rate, f.writers, f.duration)
	schema := fmt.Sprintf("bench%d", time.Now().UnixNano()%1e9)
	open := func() (*pgstore.Store, error) {
		cfg := pgstore.DefaultConfig()
		cfg.DSN, cfg.Schema = f.dsn, schema
		return pgstore.Open(ctx, cfg)
	}
	st, err := open()
	if err != nil {
		return err
	}
	w0, err := exclusion.Create(ctx, st, idEmbedder{}, exclusion.DefaultConfig())
	if err != nil {
		return err
	}
	b.writers = append(b.writers, w0)
	for range f.writers - 1 {
		st, err := open()
		if err != nil {
			return err
		}
		w, err := pgstore.OpenRegistry(ctx, st, idEmbedder{}, exclusion.DefaultConfig())
		if err != nil {
			return err
		}
		b.writers = append(b.writers, w)
	}
	defer func() {
		for _, w := range b.writers {
			_ = w.Close()
		}
	}()
	phases := 2 // baseline approvals, notify approvals
	if f.faults {
		phases += 2
	}
	n := f.rate * int(f.duration/time.Second) * phases
	t0 := time.Now()
	if err := b.submit(ctx, n); err != nil {
		return err
	}
	b.printf("submitted %d pending requests in %.1f s\n\n", n, time.Since(t0).Seconds())
	b.seenc = make(chan seen, 1<<16)
	b.seenAt, b.approved, b.acked = map[[3]int]time.Time{}, map[int]bool{}, map[int]time.Time{}
	go func() {
		for s := range b.seenc {
			k := [3]int{s.id, s.replica, 0}
			if s.verdict == "block" {
				k[2] = 1
			}
			b.mu.Lock()
			if _, ok := b.seenAt[k]; !ok {
				b.seenAt[k] = s.at
			}
			b.mu.Unlock()
		}
	}()
	args := []string{"-dsn", f.dsn, "-schema", schema, "-checks", fmt.Sprint(f.checks)}

	b.printf("| phase | replicas wake on | changes | achieved changes/s | change -> every replica: p50 | p99 | max | not seen |\n|---|---|---|---|---|---|---|---|\n")
	if f.baseline {
		if err := b.startChildren(append(slices.Clone(args), "-wake=false")); err != nil {
			return err
		}
		if err := b.stream(ctx, "approvals (baseline)", "poll every 1 s", exclusion.ActionApprove, nil); err != nil {
			return err
		}
		if err := b.stream(ctx, "withdrawals (baseline)", "poll every 1 s", exclusion.ActionWithdraw, nil); err != nil {
			return err
		}
		b.stopChildren()
	}
	if err := b.startChildren(args); err != nil {
		return err
	}
	defer b.stopChildren()
	if err := b.stream(ctx, "approvals", "LISTEN/NOTIFY (poll 1 s)", exclusion.ActionApprove, nil); err != nil {
		return err
	}
	if err := b.stream(ctx, "withdrawals", "LISTEN/NOTIFY (poll 1 s)", exclusion.ActionWithdraw, nil); err != nil {
		return err
	}
	b.checkRates(ctx)
	if !f.faults {
		return nil
	}
	// kill -9 of replica 0 halfway through a stream of approvals, which
	// goes on meanwhile: the restarted process loads the registry and is
	// told (again and again, until the stream is over) to watch what its
	// predecessor had not reported.
	var killNote string
	killed := make(chan struct{})
	stopRewatch := make(chan struct{})
	err = b.stream(ctx, "approvals, replica 0 killed -9 halfway", "LISTEN/NOTIFY (poll 1 s)", exclusion.ActionApprove, func(elapsed time.Duration) bool {
		if elapsed < f.duration/2 {
			return false
		}
		go func() {
			defer close(killed)
			c := b.children[0]
			c.kill()
			restart := time.Now()
			if err := c.start(); err != nil {
				killNote = "restart failed: " + err.Error()
				return
			}
			c.mu.Lock()
			ready := c.ready.Sub(restart)
			c.mu.Unlock()
			killNote = fmt.Sprintf("replica 0 killed with SIGKILL at %.1f s while approvals went on, and restarted: serving again after %.2f s (full load from PostgreSQL)", elapsed.Seconds(), ready.Seconds())
			for {
				b.rewatch(c)
				select {
				case <-stopRewatch:
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()
		return true
	})
	close(stopRewatch)
	<-killed
	if err != nil {
		return err
	}
	missed, err := b.verify(ctx)
	if err != nil {
		return err
	}
	b.printf("\n%s; afterwards every replica checked every approved face: %d missed (of %d approved, %d replicas)\n", killNote, missed, len(b.approved), len(b.children))
	if b.cluster == nil {
		b.printf("\noutage phase skipped: -dsn given (the bench stops only its own cluster)\n")
		return nil
	}
	return b.outagePhase(ctx)
}

// submit stores n pending face opt-outs, identities 0..n-1.
func (b *benchRun) submit(ctx context.Context, n int) error {
	b.ids = make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, len(b.writers))
	for w, reg := range b.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += len(b.writers) {
				req, err := reg.Submit(ctx, &exclusion.Submission{
					Kind: exclusion.FaceOptOut, Country: "DE", Reason: "replicas bench", Name: fmt.Sprint("Person ", i),
					Email: "bench@example.org", Phone: "+4915123456789", Photos: []exclusion.Photo{{Data: photo(i)}},
				}, "bench")
				if err != nil {
					errs <- err
					return
				}
				b.ids[i] = req.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func (b *benchRun) startChildren(args []string) error {
	b.children = nil
	for i := range b.f.replicas {
		c := &child{n: i, args: args, logw: b.logw, seen: b.seenc}
		if err := c.start(); err != nil {
			return err
		}
		b.children = append(b.children, c)
	}
	return nil
}

func (b *benchRun) stopChildren() {
	for _, c := range b.children {
		c.stop()
	}
	b.children = nil
}

// rewatch tells c to watch every identity it has not reported since its
// identity's last change.
func (b *benchRun) rewatch(c *child) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id := range b.acked {
		want, v := "allow", 0
		if b.approved[id] {
			want, v = "block", 1
		}
		if _, ok := b.seenAt[[3]int{id, c.n, v}]; !ok {
			c.send("W %d %s", id, want)
		}
	}
}

// stream makes f.rate changes per second for f.duration (approvals of
// new identities, or withdrawals of the approved ones), each watched by
// every replica, and reports how long each took to reach every replica.
// during, if not nil, is called between changes until it returns true.
func (b *benchRun) stream(ctx context.Context, name, wake string, action exclusion.Action, during func(time.Duration) bool) error {
	var todo []int
	total := b.f.rate * int(b.f.duration/time.Second)
	if action == exclusion.ActionApprove {
		for range total {
			todo = append(todo, b.next)
			b.next++
		}
	} else {
		b.mu.Lock()
		for id, ok := range b.approved {
			if ok {
				todo = append(todo, id)
			}
		}
		b.mu.Unlock()
		slices.Sort(todo)
		todo = todo[:min(len(todo), total)]
	}
	want := "block"
	if action == exclusion.ActionWithdraw {
		want = "allow"
	}
	jobs := make(chan int, len(todo))
	started := map[int]time.Time{}
	var smu sync.Mutex // guards started
	var wg sync.WaitGroup
	var failed []error
	for _, w := range b.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				for _, c := range b.children {
					c.send("W %d %s", id, want)
				}
				t := time.Now()
				var err error
				if action == exclusion.ActionApprove {
					_, err = w.Approve(ctx, b.ids[id], "bench", "")
				} else {
					_, err = w.Withdraw(ctx, b.ids[id], "bench", "")
				}
				smu.Lock()
				if err != nil {
					failed = append(failed, err)
				} else {
					started[id] = t
				}
				smu.Unlock()
				b.mu.Lock()
				if err == nil {
					b.acked[id] = t
					b.approved[id] = action == exclusion.ActionApprove
				}
				b.mu.Unlock()
			}
		}()
	}
	begin := time.Now()
	every := time.Second / time.Duration(b.f.rate)
	for k, id := range todo {
		if d := time.Until(begin.Add(time.Duration(k) * every)); d > 0 {
			time.Sleep(d)
		}
		if during != nil && during(time.Since(begin)) {
			during = nil
		}
		jobs <- id
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(begin)
	if len(failed) > 0 {
		return fmt.Errorf("%s: %d changes failed, first: %w", name, len(failed), failed[0])
	}
	// Wait for the stragglers, at most 30 s.
	deadline := time.Now().Add(30 * time.Second)
	var lat []time.Duration
	notSeen := 0
	for {
		lat, notSeen = b.latencies(started, want == "block")
		if notSeen == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.mu.Lock()
	for id := range started {
		if action == exclusion.ActionWithdraw {
			delete(b.approved, id)
		}
	}
	b.mu.Unlock()
	p := func(q float64) string {
		if len(lat) == 0 {
			return "-"
		}
		return fmtDur(lat[min(len(lat)-1, int(q*float64(len(lat))))])
	}
	maxLat := "-"
	if len(lat) > 0 {
		maxLat = fmtDur(lat[len(lat)-1])
	}
	b.printf("| %s | %s | %d | %.1f | %s | %s | %s | %d |\n", name, wake, len(started),
		float64(len(started))/elapsed.Seconds(), p(0.50), p(0.99), maxLat, notSeen)
	return nil
}

// latencies returns, sorted, for every change in started (approvals if
// block, else withdrawals) seen by every replica, the time from the start of the change's call to the last
// replica's report; and how many changes some replica has not reported.
func (b *benchRun) latencies(started map[int]time.Time, block bool) ([]time.Duration, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := 0
	if block {
		v = 1
	}
	var lat []time.Duration
	missing := 0
	for id, t := range started {
		var last time.Time
		ok := true
		for _, c := range b.children {
			s, seen := b.seenAt[[3]int{id, c.n, v}]
			if !seen {
				ok = false
				break
			}
			if s.After(last) {
				last = s
			}
		}
		if !ok {
			missing++
			continue
		}
		lat = append(lat, max(0, last.Sub(t)))
	}
	slices.Sort(lat)
	return lat, missing
}

func fmtDur(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
	if d < time.Second {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// checkRates reports the CheckFaces each replica ran.
func (b *benchRun) checkRates(ctx context.Context) {
	var parts []string
	for _, c := range b.children {
		line, err := c.ask(ctx, "Q")
		if err != nil {
			parts = append(parts, err.Error())
			continue
		}
		var n int
		var secs float64
		fmt.Sscanf(line, "Q %d %f", &n, &secs)
		parts = append(parts, fmt.Sprintf("replica %d: %d checks in %.1f s (%.0f/s)", c.n, n, secs, float64(n)/secs))
	}
	b.printf("\nCheckFaces run meanwhile (LISTEN/NOTIFY replicas, both phases): %s\n", strings.Join(parts, "; "))
}

// verify checks every identity on every replica: approved ones must
// block, others allow. It returns how many answers were wrong.
func (b *benchRun) verify(ctx context.Context) (int, error) {
	b.mu.Lock()
	ids := make(map[int]bool, len(b.acked))
	for id := range b.acked {
		ids[id] = b.approved[id]
	}
	b.mu.Unlock()
	wrong := 0
	for _, c := range b.children {
		for id, approved := range ids {
			line, err := c.ask(ctx, fmt.Sprintf("C %d", id))
			if err != nil {
				return 0, err
			}
			if got := strings.Fields(line); len(got) != 3 || (got[2] == "block") != approved {
				wrong++
			}
		}
	}
	return wrong, nil
}

// outagePhase stops PostgreSQL for f.outage in the middle of a stream of
// approvals: writers retry what was not acknowledged; replicas report
// staleness, then converge; nothing acknowledged is lost.
func (b *benchRun) outagePhase(ctx context.Context) error {
	total := b.f.rate * int(b.f.duration/time.Second)
	var maxStale time.Duration
	errsSeen := 0
	var downAt, upAt time.Time
	begin := time.Now()
	every := time.Second / time.Duration(b.f.rate)
	acked := 0
	retries := 0
	var lastAck time.Time
	outageDone := make(chan struct{})
	go func() {
		defer close(outageDone)
		time.Sleep(b.f.duration / 3)
		downAt = time.Now()
		_ = b.cluster.Stop(ctx)
		for time.Since(downAt) < b.f.outage {
			for _, c := range b.children {
				if s, err := c.status(ctx); err == nil {
					maxStale = max(maxStale, s.Staleness)
					if s.Err != "" {
						errsSeen++
					}
				}
			}
			time.Sleep(250 * time.Millisecond)
		}
		_ = b.cluster.Start(ctx)
		upAt = time.Now()
	}()
	started := map[int]time.Time{}
	w := b.writers[0]
	for k := range total {
		if d := time.Until(begin.Add(time.Duration(k) * every)); d > 0 {
			time.Sleep(d)
		}
		id := b.next
		b.next++
		for _, c := range b.children {
			c.send("W %d block", id)
		}
		t := time.Now()
		for {
			_, err := w.Approve(ctx, b.ids[id], "bench", "")
			if err == nil {
				break
			}
			if errors.Is(err, exclusion.ErrTransition) { // committed, acknowledgement lost: the retry sees it approved
				break
			}
			retries++
			time.Sleep(100 * time.Millisecond)
		}
		acked++
		lastAck = time.Now()
		started[id] = t
		b.mu.Lock()
		b.acked[id], b.approved[id] = t, true
		b.mu.Unlock()
	}
	<-outageDone
	// Convergence: every replica has applied the head.
	var converged, afterLast time.Duration
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, notSeen := b.latencies(started, true)
		if notSeen == 0 {
			converged, afterLast = time.Since(upAt), time.Since(lastAck)
			break
		}
	}
	lost := 0
	for id := range started {
		req, err := w.Get(ctx, b.ids[id])
		if err != nil || req.Status != exclusion.Approved {
			lost++
		}
	}
	missed, err := b.verify(ctx)
	if err != nil {
		return err
	}
	b.printf("\nPostgreSQL stopped for %.1f s during %d approvals (%d acknowledged; %d failed calls retried): "+
		"replicas reported the outage in %d status polls, staleness up to %.1f s; every replica had every approval %s after the restart "+
		"(the writer worked off its backlog meanwhile; %s after the last acknowledgement); "+
		"acknowledged approvals missing from PostgreSQL: %d; wrong answers afterwards: %d\n",
		upAt.Sub(downAt).Seconds(), total, acked, retries, errsSeen, maxStale.Seconds(), fmtDur(converged), fmtDur(afterLast), lost, missed)
	return nil
}
