package pgstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/exclusion/metrics"
	"github.com/faceoptout/faceoptout/exclusion/pgstore"
	"github.com/faceoptout/faceoptout/internal/pgcluster"
	"github.com/faceoptout/faceoptout/internal/pgtest"
)

// registryFixture is one PostgreSQL registry with a writer Registry on it.
type registryFixture struct {
	dsn, schema string
	emb         *exclusiontest.Embedder
	writer      *exclusion.Registry
}

func newRegistry(t *testing.T, dsn string) *registryFixture {
	t.Helper()
	ctx := context.Background()
	st := open(t, dsn)
	emb := &exclusiontest.Embedder{}
	w, err := exclusion.Create(ctx, st, emb, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return &registryFixture{dsn: dsn, schema: st.Schema(), emb: emb, writer: w}
}

func (f *registryFixture) store(t *testing.T) *pgstore.Store {
	t.Helper()
	cfg := pgstore.DefaultConfig()
	cfg.DSN, cfg.Schema, cfg.RetryWake = f.dsn, f.schema, 100*time.Millisecond
	s, err := pgstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *registryFixture) replica(t *testing.T, cfg exclusion.ReplicaConfig) (*exclusion.Replica, *exclusion.Filter) {
	t.Helper()
	p, err := exclusion.NewReplica(context.Background(), f.store(t), f.emb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	flt, err := exclusion.NewFilter(p.Registry(), f.emb, exclusion.DefaultFilterConfig())
	if err != nil {
		t.Fatal(err)
	}
	return p, flt
}

// rect is where test faces are drawn.
var rect = image.Rect(20, 20, 140, 140)

// person returns the colour of test person i (0 <= i < 32). The fake
// embedder quantises each channel to 3 bits and ORs them into its seed with
// a constant whose bits 1 (red), 2 (green), 0 and 2 (blue) are set: only
// colours that differ in the other bits are different people.
func person(i int) color.RGBA {
	q := func(v int) uint8 { return uint8(16 + 32*v) }
	return color.RGBA{q([]int{0, 1, 4, 5}[i%4]), q(i / 4 % 4), q([]int{0, 2}[i/16%2]), 255}
}

// optOut submits and approves a face opt-out of person i and returns its id.
func (f *registryFixture) optOut(t testing.TB, i int) string {
	t.Helper()
	ctx := context.Background()
	img := exclusiontest.PNG(exclusiontest.Image(160, 160, exclusiontest.Face{Box: rect, Color: person(i)}))
	req, err := f.writer.Submit(ctx, &exclusion.Submission{
		Kind: exclusion.FaceOptOut, Country: "DE", Reason: "replica test", Name: "Jo",
		Email: "jo@example.org", Phone: "+4915123456789", Photos: []exclusion.Photo{{Data: img}},
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.writer.Approve(ctx, req.ID, "test", ""); err != nil {
		t.Fatal(err)
	}
	return req.ID
}

func desc(i int) []embed.Descriptor { return []embed.Descriptor{exclusiontest.Descriptor(person(i))} }

// eventually polls cond until it holds or a minute passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after a minute", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func verdict(flt *exclusion.Filter, i int) exclusion.Verdict {
	return flt.CheckFaces(context.Background(), desc(i)).Verdict
}

func TestReplicaFollows(t *testing.T) {
	ctx := context.Background()
	f := newRegistry(t, pgtest.Database(t))
	first := f.optOut(t, 1)
	p, flt := f.replica(t, exclusion.DefaultReplicaConfig())
	if v := verdict(flt, 1); v != exclusion.Block {
		t.Fatalf("an opt-out approved before the replica started: %s", v)
	}
	if v := verdict(flt, 2); v != exclusion.Allow {
		t.Fatalf("a stranger: %s", v)
	}
	second := f.optOut(t, 2)
	eventually(t, "an approval reaches the replica", func() bool { return verdict(flt, 2) == exclusion.Block })
	if _, err := f.writer.Withdraw(ctx, first, "test", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a withdrawal reaches the replica", func() bool { return verdict(flt, 1) == exclusion.Allow })
	st := p.Status()
	if st.Applied != 3 || st.Lag() != 0 || st.Faces != 1 || st.Err != "" || st.Stale {
		t.Errorf("status %+v", st)
	}

	// A second replica starts after everything and sees the same.
	p2, flt2 := f.replica(t, exclusion.DefaultReplicaConfig())
	if verdict(flt2, 1) != exclusion.Allow || verdict(flt2, 2) != exclusion.Block || p2.Status().Applied != 3 {
		t.Errorf("a late replica: %s %s %+v", verdict(flt2, 1), verdict(flt2, 2), p2.Status())
	}
	_ = second
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal("Close twice:", err)
	}
	if d := flt.CheckFaces(ctx, desc(2)); d.Verdict != exclusion.Unchecked {
		t.Errorf("a closed replica answers %s", d.Verdict)
	}
}

func TestReplicaManyChanges(t *testing.T) {
	// More changes than one feed read (Batch) while the replica is away.
	f := newRegistry(t, pgtest.Database(t))
	cfg := exclusion.DefaultReplicaConfig()
	cfg.Batch = 4
	p, flt := f.replica(t, cfg)
	const n = 11
	for i := range n {
		f.optOut(t, 10+i)
	}
	eventually(t, "every approval applied", func() bool { return p.Status().Applied == n })
	for i := range n {
		if v := verdict(flt, 10+i); v != exclusion.Block {
			t.Errorf("person %d: %s", 10+i, v)
		}
	}
}

func TestReplicaStaleness(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	c := pgtest.Own(t)
	f := newRegistry(t, pgtest.NewDatabase(t, c))
	f.optOut(t, 1)
	tests := []struct {
		name  string
		bound time.Duration
	}{
		{"no bound", 0},
		{"bound", 500 * time.Millisecond},
	}
	type rep struct {
		p   *exclusion.Replica
		flt *exclusion.Filter
	}
	reps := make([]rep, len(tests))
	for i, tt := range tests {
		cfg := exclusion.DefaultReplicaConfig()
		cfg.PollInterval, cfg.MaxStaleness = 50*time.Millisecond, tt.bound
		reps[i].p, reps[i].flt = f.replica(t, cfg)
	}
	stopFor(t, c, func() {
		for i, tt := range tests {
			t.Run(tt.name+"/down", func(t *testing.T) {
				p, flt := reps[i].p, reps[i].flt
				eventually(t, "the outage is reported", func() bool { return p.Status().Err != "" })
				if tt.bound == 0 {
					if v := verdict(flt, 1); v != exclusion.Block {
						t.Errorf("without a bound the last state serves: %s", v)
					}
					if p.Status().Stale {
						t.Error("stale without a bound")
					}
					return
				}
				eventually(t, "past the bound", func() bool { return p.Status().Stale })
				d := flt.CheckFaces(ctx, desc(1))
				var se *exclusion.StaleError
				if d.Verdict != exclusion.Unchecked || !errors.Is(d.Err, exclusion.ErrStale) || !errors.As(d.Err, &se) {
					t.Errorf("past the bound: %s, %v", d.Verdict, d.Err)
				}
			})
		}
	})
	// The server is back: an approval made now reaches both.
	f2 := &registryFixture{dsn: f.dsn, schema: f.schema, emb: f.emb}
	var err error
	f2.writer, err = pgstore.OpenRegistry(ctx, f.store(t), f.emb, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer f2.writer.Close()
	f2.optOut(t, 2)
	for i, tt := range tests {
		t.Run(tt.name+"/up", func(t *testing.T) {
			p, flt := reps[i].p, reps[i].flt
			eventually(t, "converged", func() bool { return verdict(flt, 2) == exclusion.Block })
			if v := verdict(flt, 1); v != exclusion.Block {
				t.Errorf("old opt-out: %s", v)
			}
			eventually(t, "healthy", func() bool { st := p.Status(); return st.Err == "" && !st.Stale })
		})
	}
}

// stopFor stops c, runs fn and starts c again.
func stopFor(t *testing.T, c *pgcluster.Cluster, fn func()) {
	t.Helper()
	ctx := context.Background()
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}()
	fn()
}

func TestReplicaConfig(t *testing.T) {
	f := newRegistry(t, pgtest.Database(t))
	tests := []exclusion.ReplicaConfig{
		{PollInterval: -1}, {MaxStaleness: -time.Second}, {Batch: -3},
	}
	for i, cfg := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			st := f.store(t)
			defer st.Close()
			if p, err := exclusion.NewReplica(context.Background(), st, f.emb, cfg); err == nil {
				p.Close()
				t.Fatal("accepted")
			}
		})
	}
}

func TestReplicaMetricsAndStatus(t *testing.T) {
	f := newRegistry(t, pgtest.Database(t))
	f.optOut(t, 5)
	p, _ := f.replica(t, exclusion.DefaultReplicaConfig())
	pr := prometheus.NewRegistry()
	m, err := metrics.New(pr)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WatchReplica(p); err != nil {
		t.Fatal(err)
	}
	f.optOut(t, 6)
	eventually(t, "applied", func() bool { return p.Status().Applied == 2 })
	mfs, err := pr.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if g := mf.GetMetric()[0].GetGauge(); g != nil {
			got[mf.GetName()] = g.GetValue()
		}
	}
	for name, want := range map[string]float64{
		"faceoptout_faces": 2, "faceoptout_feed_applied_seq": 2, "faceoptout_feed_lag": 0, "faceoptout_stale": 0,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	if _, ok := got["faceoptout_staleness_seconds"]; !ok {
		t.Error("no staleness gauge")
	}
	rec := httptest.NewRecorder()
	metrics.StatusHandler(p).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/index/status", nil))
	var st struct {
		Applied, Lag uint64
		Faces        int
		Stale        bool
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("status %d %s: %v", rec.Code, rec.Body, err)
	}
	if st.Applied != 2 || st.Faces != 2 || st.Lag != 0 || st.Stale {
		t.Errorf("status %s", rec.Body)
	}
}

func TestReplicaSnapshot(t *testing.T) {
	ctx := context.Background()
	f := newRegistry(t, pgtest.Database(t))
	dir := t.TempDir()
	snap := filepath.Join(dir, "replica.snapshot")
	cfg := exclusion.DefaultReplicaConfig()
	cfg.Snapshot = snap
	ids := []string{f.optOut(t, 1), f.optOut(t, 2), f.optOut(t, 3)}
	p, _ := f.replica(t, cfg)
	if st := p.Status(); st.Loaded != "store" {
		t.Fatalf("first start: %+v", st)
	}
	eventually(t, "the first snapshot written", func() bool { return p.Status().SnapshotSeq == 3 })
	f.optOut(t, 4)
	eventually(t, "applied", func() bool { return p.Status().Applied == 4 })
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// While the replica is away: one more approval, one withdrawal.
	f.optOut(t, 5)
	if _, err := f.writer.Withdraw(ctx, ids[0], "test", ""); err != nil {
		t.Fatal(err)
	}
	want := map[int]exclusion.Verdict{1: exclusion.Allow, 2: exclusion.Block, 3: exclusion.Block, 4: exclusion.Block, 5: exclusion.Block, 6: exclusion.Allow}
	expect := func(t *testing.T, flt *exclusion.Filter) {
		t.Helper()
		for i, v := range want {
			if d := flt.CheckFaces(ctx, desc(i)); d.Verdict != v {
				t.Errorf("person %d: %s, want %s: %+v", i, d.Verdict, v, d)
			}
		}
	}

	t.Run("from the snapshot", func(t *testing.T) {
		p, flt := f.replica(t, cfg)
		if st := p.Status(); st.Loaded != "snapshot" || st.Applied != 6 || st.Faces != 4 {
			t.Errorf("status %+v", st)
		}
		expect(t, flt)
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	})
	tests := []struct {
		name   string
		damage func(t *testing.T, b []byte) []byte
	}{
		{"one bit flipped", func(t *testing.T, b []byte) []byte { b[len(b)/2] ^= 0x10; return b }},
		{"truncated", func(t *testing.T, b []byte) []byte { return b[:len(b)-7] }},
		{"empty", func(t *testing.T, b []byte) []byte { return nil }},
		{"another registry", func(t *testing.T, b []byte) []byte {
			other := newRegistry(t, pgtest.Database(t))
			other.optOut(t, 9)
			ocfg := exclusion.DefaultReplicaConfig()
			ocfg.Snapshot = filepath.Join(t.TempDir(), "other.snapshot")
			op, _ := other.replica(t, ocfg)
			if err := op.Close(); err != nil {
				t.Fatal(err)
			}
			ob, err := os.ReadFile(ocfg.Snapshot)
			if err != nil {
				t.Fatal(err)
			}
			return ob
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good, err := os.ReadFile(snap)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(snap, tt.damage(t, slices.Clone(good)), 0o600); err != nil {
				t.Fatal(err)
			}
			p, flt := f.replica(t, cfg)
			if st := p.Status(); st.Loaded != "store" {
				t.Errorf("a damaged snapshot was used: %+v", st)
			}
			expect(t, flt)
			if err := p.Close(); err != nil { // rewrites a good snapshot
				t.Fatal(err)
			}
		})
	}
	t.Run("encryption refuses snapshots", func(t *testing.T) {
		c := cfg
		c.Registry.Encryption.Key = make([]byte, 32)
		st := f.store(t)
		defer st.Close()
		if p, err := exclusion.NewReplica(ctx, st, f.emb, c); err == nil {
			p.Close()
			t.Fatal("a snapshot with encryption was accepted")
		}
	})
}
