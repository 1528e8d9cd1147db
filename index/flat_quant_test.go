package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/faceoptout/faceoptout/internal/facesim"
)

// The shadow scan must return exactly what the float32 scan returns: the
// same ids, the same distances, in the same order. These tests compare the
// two paths of one index on data chosen to stress the bound.

func mustFlat(t testing.TB, dim int, mod func(*FlatConfig)) *Flat {
	t.Helper()
	c := DefaultFlatConfig()
	c.Dim = dim
	if mod != nil {
		mod(&c)
	}
	f, err := NewFlat(c)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// compareScans checks Within and WithinBatch through the shadow against the
// float32 scan for every query and radius, and returns the share of rows
// the shadow re-checked.
func compareScans(t *testing.T, f *Flat, qs [][]float32, radii []float32) {
	t.Helper()
	for _, r := range radii {
		f.scan32.Store(true)
		want := make([][]Result, len(qs))
		for i, q := range qs {
			res, err := f.Within(q, r, nil)
			if err != nil {
				t.Fatal(err)
			}
			want[i] = res
		}
		wantB, err := f.WithinBatch(qs, r)
		if err != nil {
			t.Fatal(err)
		}
		f.scan32.Store(false)
		for i := range qs {
			if !slices.Equal(wantB[i], want[i]) {
				t.Fatalf("float32 batch and single disagree (q %d r %v)", i, r)
			}
		}
		var dst []Result
		for i, q := range qs {
			dst, err = f.Within(q, r, dst)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(dst, want[i]) {
				t.Fatalf("r=%v query %d: shadow %d results %v, float32 %d results %v", r, i, len(dst), head(dst), len(want[i]), head(want[i]))
			}
		}
		got, err := f.WithinBatch(qs, r)
		if err != nil {
			t.Fatal(err)
		}
		for i := range qs {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("r=%v batch query %d: shadow %d results, float32 %d", r, i, len(got[i]), len(want[i]))
			}
		}
	}
}

func head(rs []Result) []Result { return rs[:min(len(rs), 5)] }

func randVecs(rng *rand.Rand, n, dim int, gen func() float32) [][]float32 {
	vs := make([][]float32, n)
	for i := range vs {
		vs[i] = make([]float32, dim)
		for j := range vs[i] {
			vs[i][j] = gen()
		}
	}
	return vs
}

func addAll(t testing.TB, f *Flat, vs [][]float32, first ID) {
	t.Helper()
	for i, v := range vs {
		if err := f.Add(first+ID(i), v); err != nil {
			t.Fatal(err)
		}
	}
}

func TestShadowMatchesFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	norm := func() float32 { return float32(rng.NormFloat64() * 0.1) }
	wild := func() float32 {
		switch rng.IntN(8) {
		case 0:
			return float32(rng.NormFloat64() * 1e30)
		case 1:
			return float32(rng.NormFloat64() * 1e-30)
		case 2:
			return math.Float32frombits(rng.Uint32N(1 << 23)) // subnormal
		case 3:
			return 0
		case 4:
			return float32(rng.NormFloat64() * 1e18) // squares overflow float32
		default:
			return float32(rng.NormFloat64())
		}
	}
	grid := func() float32 { return float32(rng.IntN(5)) } // many ties
	cases := []struct {
		name  string
		dim   int
		n     int
		gen   func() float32
		radii []float32
	}{
		{"normal-128", 128, 3000, norm, []float32{0, 1e-6, 0.9, 1.3, 1.45, 1e30}},
		{"normal-1", 1, 500, norm, []float32{0, 0.01, 0.1}},
		{"normal-17", 17, 700, norm, []float32{0.2, 0.4, 0.5}},
		{"wild-128", 128, 800, wild, []float32{0, 1, 15, 1e20, 1e31, math.MaxFloat32}},
		{"wild-5", 5, 800, wild, []float32{0, 1, 3, 1e29, 1e30}},
		{"grid-16", 16, 1000, grid, []float32{0, 1, 2, 3, 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, asm := range []bool{true, false} {
				if asm && !useAVX2 {
					continue
				}
				t.Run(fmt.Sprintf("asm=%v", asm), func(t *testing.T) {
					saved := useAVX2
					defer func() { useAVX2 = saved }()
					useAVX2 = asm
					f := mustFlat(t, c.dim, func(fc *FlatConfig) { fc.BlockRows = 97; fc.ParallelMin = 1000 })
					vs := randVecs(rng, c.n, c.dim, c.gen)
					addAll(t, f, vs, 0)
					qs := randVecs(rng, 12, c.dim, c.gen)
					qs = append(qs, vs[0], vs[len(vs)/2]) // queries that are rows
					compareScans(t, f, qs, c.radii)
					// Delete a third, with the last rows moving into the holes.
					for i := 0; i < c.n; i += 3 {
						f.Delete(ID(i))
					}
					compareScans(t, f, qs, c.radii)
				})
			}
		})
	}
}

// TestShadowBoundary puts r exactly on a row's float32 distance: the row
// must come back, through the shadow and in batches.
func TestShadowBoundary(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, scale := range []float64{1e-20, 1e-3, 0.1, 1, 1e15} {
		f := mustFlat(t, 128, nil)
		vs := randVecs(rng, 1500, 128, func() float32 { return float32(rng.NormFloat64() * scale) })
		addAll(t, f, vs, 0)
		for trial := range 25 {
			q := vs[rng.IntN(len(vs))]
			q = slices.Clone(q)
			for j := range q {
				q[j] += float32(rng.NormFloat64() * scale * 0.05)
			}
			i := rng.IntN(len(vs))
			r := dist(q, vs[i])
			res, err := f.Within(q, r, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(res, func(x Result) bool { return x.ID == ID(i) }) {
				t.Fatalf("scale %g trial %d: row %d at exactly r=%v missing", scale, trial, i, r)
			}
			b, err := f.WithinBatch([][]float32{q, q, q, q, q}, r)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(b[4], res) {
				t.Fatalf("scale %g trial %d: batch differs", scale, trial)
			}
		}
	}
}

// TestShadowOutliers adds vectors far outside the range the scale was
// derived from (clamped codes), after the last re-derivation.
func TestShadowOutliers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	f := mustFlat(t, 32, nil)
	vs := randVecs(rng, 5000, 32, func() float32 { return float32(rng.NormFloat64() * 0.1) })
	addAll(t, f, vs, 0)
	out := randVecs(rng, 50, 32, func() float32 { return float32(rng.NormFloat64() * 50) })
	addAll(t, f, out, 100000)
	qs := append(randVecs(rng, 10, 32, func() float32 { return float32(rng.NormFloat64() * 0.1) }), out[:5]...)
	compareScans(t, f, qs, []float32{0.3, 0.6, 1, 100})
}

// TestShadowFaces compares the paths on face-like data, and on a Flat
// loaded from disk (LoadFlat builds the shadow; a missing one is built by the first query).
func TestShadowFaces(t *testing.T) {
	m, err := facesim.Synthetic(128, 7)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	vs, _, centres := m.Sample(rng, 1500, 4)
	var qs [][]float32
	for i := range 40 {
		if i%2 == 0 {
			qs = append(qs, m.SampleOf(rng, centres[rng.IntN(len(centres))]))
		} else {
			qs = append(qs, m.SampleOf(rng, m.Identity(rng)))
		}
	}
	f := mustFlat(t, 128, nil)
	addAll(t, f, vs, 0)
	radii := []float32{0.45, 0.6, 0.9}
	compareScans(t, f, qs, radii)

	path := filepath.Join(t.TempDir(), "flat.idx")
	if err := f.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	g, err := LoadFlat(path, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !g.fresh() {
		t.Fatalf("LoadFlat left the shadow unbuilt: %d of %d rows", g.sh.rows, len(g.ids))
	}
	// Concurrent first queries race to build a shadow that is missing (as
	// for a Flat whose rows were filled without it).
	g.sh = newShadow(g.cfg.Dim)
	var wg sync.WaitGroup
	want, _ := f.Within(qs[0], 0.6, nil)
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := g.Within(qs[0], 0.6, nil)
			if err == nil && !slices.Equal(got, want) {
				err = fmt.Errorf("loaded index: %d results, want %d", len(got), len(want))
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	compareScans(t, g, qs, radii)
	// A loaded index keeps its shadow in step with later writes.
	addAll(t, g, vs[:100], 1<<40)
	for i := range 500 {
		g.Delete(ID(i * 7))
	}
	compareScans(t, g, qs, radii)
	// The bound must prune: at r = 0.6 few rows are within reach.
	f.rechecked.Store(0)
	f.scanned.Store(0)
	for _, q := range qs {
		if _, err := f.Within(q, 0.6, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("r=0.6: re-checked %d of %d rows", f.rechecked.Load(), f.scanned.Load())
	if f.rechecked.Load() >= f.scanned.Load()/20 {
		t.Errorf("shadow re-checked %d of %d rows: the bound is not pruning", f.rechecked.Load(), f.scanned.Load())
	}
}

// TestShadowConcurrent runs range queries beside Add and Delete and checks
// every answer against the rows that were certainly present throughout.
func TestShadowConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	gen := func() float32 { return float32(rng.NormFloat64() * 0.1) }
	stable := randVecs(rng, 2000, 64, gen)
	churn := randVecs(rng, 2000, 64, gen)
	qs := randVecs(rng, 8, 64, gen)
	f := mustFlat(t, 64, nil)
	addAll(t, f, stable, 0)
	const r = 1.0
	want := make([][]ID, len(qs))
	for i, q := range qs {
		res, _ := f.Within(q, r, nil)
		for _, x := range res {
			want[i] = append(want[i], x.ID)
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, v := range churn {
			if err := f.Add(ID(10000+i), v); err != nil {
				t.Error(err)
				return
			}
			if i%2 == 0 {
				f.Delete(ID(10000 + i/2))
			}
		}
	}()
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range 60 {
				qi := (it + g) % len(qs)
				var got []Result
				if it%2 == 0 {
					got, _ = f.Within(qs[qi], r, nil)
				} else {
					b, _ := f.WithinBatch(qs, r)
					got = b[qi]
				}
				for _, id := range want[qi] {
					if !slices.ContainsFunc(got, func(x Result) bool { return x.ID == id }) {
						t.Errorf("query %d: stable id %d missing", qi, id)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	compareScans(t, f, qs, []float32{r})
}

// TestShadowParallelRebuild loads an index big enough for the shadow to be
// rebuilt on two goroutines and compares the paths.
func TestShadowParallelRebuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	f := mustFlat(t, 16, func(c *FlatConfig) { c.Workers = 2 })
	vs := randVecs(rng, 40000, 16, func() float32 { return float32(rng.NormFloat64() * 0.3) })
	addAll(t, f, vs, 0)
	path := filepath.Join(t.TempDir(), "flat.idx")
	if err := f.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	g, err := LoadFlat(path, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if g.sh.rows != len(vs) || g.sh.derivedAt != len(vs) {
		t.Fatalf("after LoadFlat the shadow covers %d rows, derived at %d; want %d", g.sh.rows, g.sh.derivedAt, len(vs))
	}
	qs := randVecs(rng, 6, 16, func() float32 { return float32(rng.NormFloat64() * 0.3) })
	compareScans(t, g, qs, []float32{0.2, 0.4})
	if g.sh.rows != len(vs) || g.sh.derivedAt != len(vs) {
		t.Fatalf("shadow covers %d rows, derived at %d; want %d", g.sh.rows, g.sh.derivedAt, len(vs))
	}
}
