package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/examples/internal/progenv"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/pgstore"
	"github.com/faceoptout/faceoptout/internal/pgcluster"
)

// startBench measures, at each registry size, how long a replica takes to
// serve from the store (every request read, checked and indexed) and from
// its snapshot, its memory per face and what a face check costs then.
// Each start runs in a fresh child process (start-child), so that its heap
// and resident memory are its own.
func startBench(args []string) error {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	sizes := fs.String("n", "100000", "registry sizes: approved face opt-outs (one face each), comma-separated, ascending")
	dsn := fs.String("dsn", "", "PostgreSQL to use (default: a throwaway cluster on loopback)")
	checks := fs.Int("checks", 1000, "CheckFaces timed after each start")
	out := fs.String("out", "", "also write the report to this file")
	facesKinds := fs.String("faces", facesFacesim, "descriptors enrolled and probed, comma-separated, each in its own registry: facesim (dlib-like, fitted to the shared idols' dlib descriptors) or standin (unit vectors about 1.41 apart)")
	facesDir := fs.String("faces-dir", "", "shared faces directory, for -faces facesim (default $"+progenv.FacesEnv+", else ../shared/faces)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var sets []*faceSet
	for _, k := range strings.Split(*facesKinds, ",") {
		fset, err := newFaceSet(strings.TrimSpace(k), *facesDir, os.Getenv)
		if err != nil {
			return err
		}
		sets = append(sets, fset)
	}
	var ns []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || (len(ns) > 0 && n <= ns[len(ns)-1]) {
			return fmt.Errorf("-n %q: want ascending positive sizes", *sizes)
		}
		ns = append(ns, n)
	}
	ctx := context.Background()
	if *dsn == "" {
		c, err := pgcluster.Start(ctx, pgcluster.DefaultConfig())
		if err != nil {
			return err
		}
		defer c.Remove()
		*dsn = c.DSN("postgres")
	}
	var rep strings.Builder
	report := func(format string, args ...any) {
		fmt.Fprintf(&rep, format, args...)
		fmt.Printf(format, args...)
	}
	report("# examples/replicas start\n\n%s, load average at start: %s, GOMAXPROCS %d, faces %s\n\n", time.Now().UTC().Format(time.RFC3339), loadavg(), runtime.GOMAXPROCS(0), *facesKinds)
	dir, err := os.MkdirTemp("", "replicas-start-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	snap := filepath.Join(dir, "replica.snapshot")
	var rows []string
	for _, faces := range sets {
		var err error
		rows, err = startSizes(ctx, *dsn, faces, *facesDir, ns, *checks, snap, report, rows)
		if err != nil {
			return err
		}
	}
	report("\n| faces | descriptors | start | NewReplica returned after | its CPU time | process start to serving | heap in use | heap per face | RSS | RSS per face | peak RSS | CheckFaces p50 | p99 | blocked: enrolled / strangers | snapshot file | snapshot written in | load average after |\n")
	report("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		report("%s\n", r)
	}
	if *out != "" {
		return os.WriteFile(*out, []byte(rep.String()), 0o644)
	}
	return nil
}

// startSizes fills a fresh registry of faces up to each size of ns in turn
// and starts a replica from the store, then from its snapshot, at each;
// it appends a table row per start to rows.
func startSizes(ctx context.Context, dsn string, faces *faceSet, facesDir string, ns []int, checks int, snap string,
	report func(string, ...any), rows []string) ([]string, error) {
	schema := fmt.Sprintf("start%d", time.Now().UnixNano()%1e9)
	cfg := pgstore.DefaultConfig()
	cfg.DSN, cfg.Schema = dsn, schema
	st, err := pgstore.Open(ctx, cfg)
	if err != nil {
		return rows, err
	}
	reg, err := exclusion.Create(ctx, st, idEmbedder{}, exclusion.DefaultConfig())
	if err != nil {
		return rows, err
	}
	if err := reg.Close(); err != nil {
		return rows, err
	}
	filled := 0
	for _, n := range ns {
		t0 := time.Now()
		if err := fill(ctx, dsn, schema, faces, filled, n); err != nil {
			return rows, err
		}
		report("%s: %d approved face opt-outs in PostgreSQL: %d written in %.1f s (COPY, bench only); load average %s\n\n", faces.kind, n, n-filled, time.Since(t0).Seconds(), loadavg())
		filled = n
		_ = os.Remove(snap)
		for _, from := range []string{"store", "snapshot"} {
			res, err := startChild(dsn, schema, snap, from, faces.kind, facesDir, n, checks)
			if err != nil {
				return rows, fmt.Errorf("%d faces, start from the %s: %w", n, from, err)
			}
			size := "-"
			if fi, err := os.Stat(snap); err == nil {
				size = fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6)
			}
			write := "-"
			if res.SnapWrite > 0 {
				write = fmt.Sprintf("%s (changes paused %s)", fmtDur(res.SnapWrite), fmtDur(res.SnapPause))
			}
			row := fmt.Sprintf("| %d | %s | from the %s | %s | %s | %s | %.1f MB | %.0f B | %.1f MB | %.0f B | %.1f MB | %s | %s | %.1f %% / %.1f %% | %s | %s | %s |",
				n, faces.kind, from, fmtDur(res.Serving), fmtDur(res.CPU), fmtDur(res.Process), float64(res.Heap)/1e6, float64(res.Heap)/float64(n),
				float64(res.RSS)/1e6, float64(res.RSS)/float64(n), float64(res.PeakRSS)/1e6,
				fmtDur(res.P50), fmtDur(res.P99), res.BlockedEnrolled, res.BlockedStrangers, size, write, res.Load)
			rows = append(rows, row)
			fmt.Println(row)
		}
	}
	return rows, nil
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// startResult is what a start-child reports (one JSON line).
type startResult struct {
	Serving time.Duration // NewReplica's duration
	CPU     time.Duration // CPU time (user and system, all threads) the process spent in NewReplica
	Process time.Duration // from the child's start to serving (set by the parent)
	Heap    int64         // HeapInuse after a GC, minus before NewReplica
	RSS     int64         // VmRSS after a GC, minus before NewReplica
	PeakRSS int64         // VmHWM at the end
	// SnapWrite is how long the snapshot written after the start took,
	// SnapPause how long changes waited meanwhile (0: none written).
	SnapWrite, SnapPause time.Duration
	P50                  time.Duration // CheckFaces
	P99                  time.Duration
	// BlockedEnrolled and BlockedStrangers are the percentages of probes
	// of enrolled people and of strangers that CheckFaces blocked.
	BlockedEnrolled, BlockedStrangers float64
	Load                              string
}

// startChild runs one start in a child process and returns its report.
func startChild(dsn, schema, snap, from, faces, facesDir string, n, checks int) (startResult, error) {
	var res startResult
	cmd := exec.Command(os.Args[0], "start-child", "-dsn", dsn, "-schema", schema, "-snapshot", snap,
		"-from", from, "-n", strconv.Itoa(n), "-checks", strconv.Itoa(checks), "-faces", faces, "-faces-dir", facesDir)
	cmd.Stderr = os.Stderr
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	sc := bufio.NewScanner(outp)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "SERVING":
			res.Process = time.Since(t0)
		case strings.HasPrefix(line, "{"):
			p := res.Process
			if err := json.Unmarshal([]byte(line), &res); err != nil {
				return res, err
			}
			res.Process = p
		}
	}
	if err := cmd.Wait(); err != nil {
		return res, err
	}
	if res.Process == 0 {
		return res, errors.New("the child reported nothing")
	}
	return res, nil
}

// startChildMain is one replica start: it loads, reports SERVING, times
// CheckFaces, closes (writing the snapshot) and prints a startResult.
func startChildMain(args []string) error {
	fs := flag.NewFlagSet("start-child", flag.ContinueOnError)
	dsn := fs.String("dsn", "", "PostgreSQL")
	schema := fs.String("schema", "", "schema of the registry")
	snap := fs.String("snapshot", "", "snapshot file")
	from := fs.String("from", "store", "where the replica must load from: store or snapshot")
	n := fs.Int("n", 0, "approved faces in the registry")
	checks := fs.Int("checks", 1000, "CheckFaces to time")
	facesKind := fs.String("faces", facesFacesim, "descriptors: facesim or standin")
	facesDir := fs.String("faces-dir", "", "shared faces directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	faces, err := newFaceSet(*facesKind, *facesDir, os.Getenv)
	if err != nil {
		return err
	}
	ctx := context.Background()
	cfg := pgstore.DefaultConfig()
	cfg.DSN, cfg.Schema = *dsn, *schema
	s, err := pgstore.Open(ctx, cfg)
	if err != nil {
		return err
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rss0, _ := procStatus("VmRSS")
	rcfg := exclusion.DefaultReplicaConfig()
	rcfg.Snapshot = *snap
	rcfg.SnapshotEvery = time.Hour // the one written at start, then at Close
	snaps := &snapLog{}
	rcfg.Logger = slog.New(snaps)
	cpu0 := cpuTime()
	t := time.Now()
	p, err := exclusion.NewReplica(ctx, s, idEmbedder{}, rcfg)
	if err != nil {
		s.Close()
		return err
	}
	var res startResult
	res.Serving = time.Since(t)
	res.CPU = cpuTime() - cpu0
	fmt.Println("SERVING")
	defer p.Close()
	if got := p.Status(); got.Loaded != *from || got.Faces != *n {
		return fmt.Errorf("the replica loaded %d faces from %s, want %d from %s", got.Faces, got.Loaded, *n, *from)
	}
	runtime.GC()
	debug.FreeOSMemory()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	res.Heap = int64(after.HeapInuse) - int64(before.HeapInuse)
	rss1, _ := procStatus("VmRSS")
	res.RSS = rss1 - rss0
	// The start from the store writes its snapshot in the background: time
	// the checks after it.
	for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(*snap); err == nil {
			break
		}
	}
	flt, err := exclusion.NewFilter(p.Registry(), idEmbedder{}, exclusion.DefaultFilterConfig())
	if err != nil {
		return err
	}
	// Probes: enrolled people and strangers, half and half, drawn before
	// the clock runs. The stand-in faces are exact: every enrolled one
	// blocks, no stranger does. Dlib-like ones are not: another photo of an
	// enrolled person may lie beyond the threshold, a stranger within it.
	probes := make([]embed.Descriptor, *checks)
	for i := range probes {
		if i%2 == 0 {
			probes[i] = faces.probe(i*7919%*n, false)
		} else {
			probes[i] = faces.probe(i, true)
		}
	}
	lat := make([]time.Duration, 0, *checks)
	var blocked [2]int
	for i, d := range probes {
		t := time.Now()
		v := flt.CheckFaces(ctx, []embed.Descriptor{d}).Verdict
		lat = append(lat, time.Since(t))
		if v == exclusion.Block {
			blocked[i%2]++
		}
		if faces.model != nil {
			continue
		}
		if i%2 == 0 && v != exclusion.Block {
			return fmt.Errorf("enrolled face %d: %s", i*7919%*n, v)
		}
		if i%2 == 1 && v != exclusion.Allow {
			return fmt.Errorf("stranger %d: %s", i, v)
		}
	}
	res.BlockedEnrolled = 100 * float64(blocked[0]) / float64((len(probes)+1)/2)
	res.BlockedStrangers = 100 * float64(blocked[1]) / float64(max(len(probes)/2, 1))
	slices.Sort(lat)
	res.P50, res.P99 = lat[len(lat)/2], lat[len(lat)*99/100]
	if err := p.Close(); err != nil { // writes the snapshot if the start did not
		return err
	}
	res.PeakRSS, _ = procStatus("VmHWM")
	res.SnapWrite, res.SnapPause = snaps.get()
	res.Load = loadavg()
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

// snapLog is a slog.Handler that keeps the durations of the replica's
// last "snapshot written" record.
type snapLog struct {
	mu           sync.Mutex // guards took and paused
	took, paused time.Duration
}

func (*snapLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *snapLog) WithAttrs([]slog.Attr) slog.Handler     { return h }
func (h *snapLog) WithGroup(string) slog.Handler          { return h }
func (h *snapLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "replica: snapshot written" {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "took":
			h.took = a.Value.Duration()
		case "changes_paused":
			h.paused = a.Value.Duration()
		}
		return true
	})
	return nil
}

func (h *snapLog) get() (took, paused time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.took, h.paused
}

// cpuTime returns the CPU time the process used so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStatus returns a size field of /proc/self/status, in bytes.
func procStatus(field string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				v, err := strconv.ParseInt(f[0], 10, 64)
				return v << 10, err
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

// fill writes approved face opt-outs from to n-1 straight into the schema's tables
// with COPY (what n Submit and Approve calls would store, checksums
// included), and the counts to match. Bench only: it knows pgstore's
// layout.
func fill(ctx context.Context, dsn, schema string, faces *faceSet, from, n int) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	i := from
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		req := approvedRequest(i, faces.enrolled(i), t)
		b, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		i++
		return []any{req.ID, int64(req.Version), string(req.Status), string(b)}, nil
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{schema, "requests"}, []string{"id", "version", "status", "doc"}, src); err != nil {
		return err
	}
	counts := fmt.Sprintf(`{"requests":{"approved":%d},"faces":%d,"events":0}`, n, n)
	_, err = conn.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "meta"}.Sanitize()+` SET counts = $1`, counts)
	return err
}

// approvedRequest returns identity i's approved face opt-out, whose face
// has descriptor d, as the Registry would store it.
func approvedRequest(i int, d embed.Descriptor, t time.Time) *exclusion.Request {
	sum := sha256.Sum256([]byte(fmt.Sprint("photo ", i)))
	r := &exclusion.Request{
		ID: fmt.Sprintf("S%09d", i), Version: 2, Kind: exclusion.FaceOptOut, Status: exclusion.Approved,
		Country: "DE", Reason: "replicas start bench", Name: fmt.Sprint("Person ", i), Email: "bench@example.org", Phone: "+4915123456789",
		Created: t, Updated: t, Decided: t,
		Photos: []exclusion.PhotoRecord{{
			SHA256: hex.EncodeToString(sum[:]), Width: 64, Height: 64, Format: "png",
			Faces: []exclusion.FaceRecord{{
				Box: image.Rect(0, 0, 64, 64), Quality: embed.Quality{Size: 64, Sharpness: 100, Score: 1}, Enrolled: true,
				Descriptors: map[string]embed.Descriptor{idModel.ID: d},
			}},
		}},
	}
	c := *r
	b, _ := json.Marshal(&c)
	s := sha256.Sum256(b)
	r.Checksum = hex.EncodeToString(s[:])
	return r
}
