package index_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/faceoptout/faceoptout/index"
	"github.com/faceoptout/faceoptout/internal/facesim"
)

// faces returns n face-like descriptors (several per person) and nq queries:
// half new samples of enrolled people, half people never enrolled.
func faces(t testing.TB, n, nq int, seed uint64) (vs, qs [][]float32) {
	t.Helper()
	m, err := facesim.Synthetic(128, 7)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	vs, _, centres := m.Sample(rng, (n+3)/4, 4)
	vs = vs[:n]
	for i := range nq {
		if i%2 == 0 {
			qs = append(qs, m.SampleOf(rng, centres[rng.IntN(len(centres))]))
		} else {
			qs = append(qs, m.SampleOf(rng, m.Identity(rng)))
		}
	}
	return vs, qs
}

func newFlat(t testing.TB) *index.Flat {
	t.Helper()
	f, err := index.NewFlat(index.DefaultFlatConfig())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newHNSW(t testing.TB, mod func(*index.HNSWConfig)) *index.HNSW {
	t.Helper()
	c := index.DefaultHNSWConfig()
	if mod != nil {
		mod(&c)
	}
	h, err := index.NewHNSW(c)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func fill(t testing.TB, s index.Searcher, vs [][]float32) {
	t.Helper()
	for i, v := range vs {
		if err := s.Add(index.ID(i), v); err != nil {
			t.Fatal(err)
		}
	}
}

func bruteWithin(vs [][]float32, live func(int) bool, q []float32, r float32) []index.ID {
	var out []index.ID
	for i, v := range vs {
		if !live(i) {
			continue
		}
		s := 0.0
		for j := range v {
			d := float64(v[j] - q[j])
			s += d * d
		}
		if float32(math.Sqrt(s)) <= r {
			out = append(out, index.ID(i))
		}
	}
	return out
}

func vec(xs ...float32) []float32 {
	v := make([]float32, 128)
	copy(v, xs)
	return v
}

func TestSearchersBasic(t *testing.T) {
	mk := map[string]func(t *testing.T) index.Searcher{
		"flat": func(t *testing.T) index.Searcher { return newFlat(t) },
		"hnsw": func(t *testing.T) index.Searcher { return newHNSW(t, nil) },
		"index": func(t *testing.T) index.Searcher {
			x, err := index.New(index.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			return x
		},
	}
	for name, newS := range mk {
		t.Run(name, func(t *testing.T) {
			s := newS(t)
			if r, err := s.Within(vec(), 1, nil); err != nil || len(r) != 0 {
				t.Fatalf("empty Within = %v, %v", r, err)
			}
			for i, x := range []float32{0, 0.3, 0.5, 2} {
				if err := s.Add(index.ID(10+i), vec(x)); err != nil {
					t.Fatal(err)
				}
			}
			tests := []struct {
				name string
				r    float32
				want []index.ID
			}{
				{"zero radius", 0, []index.ID{10}},
				{"inclusive boundary", 0.3, []index.ID{10, 11}},
				{"three", 0.6, []index.ID{10, 11, 12}},
				{"all", 10, []index.ID{10, 11, 12, 13}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					rs, err := s.Within(vec(), tt.r, nil)
					if err != nil {
						t.Fatal(err)
					}
					if got := ids(rs); !slices.Equal(got, tt.want) {
						t.Errorf("Within(r=%v) = %v, want %v", tt.r, got, tt.want)
					}
				})
			}
			rs, err := s.Search(vec(0.45), 2, nil)
			if err != nil || !slices.Equal(ids(rs), []index.ID{12, 11}) {
				t.Errorf("Search = %v, %v; want [12 11]", rs, err)
			}
			if err := s.Add(10, vec()); !errors.Is(err, index.ErrDuplicate) {
				t.Errorf("duplicate Add: %v", err)
			}
			if err := s.Add(99, []float32{1}); !errors.Is(err, index.ErrDim) {
				t.Errorf("short vector: %v", err)
			}
			if err := s.Add(99, vec(float32(math.NaN()))); !errors.Is(err, index.ErrInvalidVector) {
				t.Errorf("NaN vector: %v", err)
			}
			if _, err := s.Within(vec(), float32(math.NaN()), nil); !errors.Is(err, index.ErrInvalidArgument) {
				t.Errorf("NaN radius: %v", err)
			}
			if _, err := s.Search(vec(), 0, nil); !errors.Is(err, index.ErrInvalidArgument) {
				t.Errorf("k=0: %v", err)
			}
			if !s.Delete(11) || s.Delete(11) || s.Len() != 3 {
				t.Errorf("Delete: len %d", s.Len())
			}
			rs, _ = s.Within(vec(), 0.6, nil)
			if got := ids(rs); !slices.Equal(got, []index.ID{10, 12}) {
				t.Errorf("Within after delete = %v", got)
			}
			b, err := s.WithinBatch([][]float32{vec(), vec(2)}, 0.6)
			if err != nil || len(b) != 2 || !slices.Equal(ids(b[0]), []index.ID{10, 12}) || !slices.Equal(ids(b[1]), []index.ID{13}) {
				t.Errorf("WithinBatch = %v, %v", b, err)
			}
		})
	}
}

func ids(rs []index.Result) []index.ID {
	out := make([]index.ID, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func TestFlatExactOnFaces(t *testing.T) {
	vs, qs := faces(t, 3000, 50, 1)
	f := newFlat(t)
	fill(t, f, vs)
	all := func(int) bool { return true }
	for _, r := range []float32{0.45, 0.6} {
		batch, err := f.WithinBatch(qs, r)
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range qs {
			want := bruteWithin(vs, all, q, r)
			rs, err := f.Within(q, r, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(rs)
			slices.Sort(got)
			bg := ids(batch[i])
			slices.Sort(bg)
			if !slices.Equal(got, want) || !slices.Equal(bg, want) {
				t.Fatalf("r=%v query %d: Within %v, batch %v, brute %v", r, i, got, bg, want)
			}
			if !slices.IsSortedFunc(rs, func(a, b index.Result) int { return cmpF(a.Distance, b.Distance) }) {
				t.Fatalf("not nearest first: %v", rs)
			}
		}
	}
}

func cmpF(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestFlatParallelMatchesSerial(t *testing.T) {
	vs, qs := faces(t, 2000, 20, 2)
	c := index.DefaultFlatConfig()
	c.ParallelMin, c.Workers, c.BlockRows = 1, 3, 7
	p, err := index.NewFlat(c)
	if err != nil {
		t.Fatal(err)
	}
	s := newFlat(t)
	fill(t, p, vs)
	fill(t, s, vs)
	for _, q := range qs {
		a, _ := p.Search(q, 10, nil)
		b, _ := s.Search(q, 10, nil)
		if !slices.Equal(a, b) {
			t.Fatalf("parallel Search %v != serial %v", a, b)
		}
		a, _ = p.Within(q, 0.6, nil)
		b, _ = s.Within(q, 0.6, nil)
		if !slices.Equal(a, b) {
			t.Fatalf("parallel Within %v != serial %v", a, b)
		}
	}
	a, _ := p.WithinBatch(qs, 0.6)
	b, _ := s.WithinBatch(qs, 0.6)
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Fatalf("parallel batch %v != serial %v", a[i], b[i])
		}
	}
}

// radiusRecall returns the share of queries for which every live id within
// r was returned, and fails if a dead id is returned.
func radiusRecall(t *testing.T, s index.Searcher, vs, qs [][]float32, live func(int) bool, r float32) float64 {
	t.Helper()
	ok := 0
	for _, q := range qs {
		rs, err := s.Within(q, r, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[index.ID]bool{}
		for _, x := range rs {
			if !live(int(x.ID)) {
				t.Fatalf("deleted id %d returned", x.ID)
			}
			if x.Distance > r {
				t.Fatalf("id %d at %v beyond radius %v", x.ID, x.Distance, r)
			}
			got[x.ID] = true
		}
		all := true
		for _, id := range bruteWithin(vs, live, q, r) {
			all = all && got[id]
		}
		if all {
			ok++
		}
	}
	return float64(ok) / float64(len(qs))
}

func TestHNSWRecallAndDeletes(t *testing.T) {
	vs, qs := faces(t, 2500, 120, 3)
	h := newHNSW(t, func(c *index.HNSWConfig) { c.EfConstruction = 64 })
	fill(t, h, vs)
	deleted := map[int]bool{}
	live := func(i int) bool { return !deleted[i] }
	rng := rand.New(rand.NewPCG(5, 5))
	before := map[float32]float64{}
	for _, frac := range []float64{0, 0.01, 0.10, 0.40} {
		for len(deleted) < int(frac*float64(len(vs))) {
			i := rng.IntN(len(vs))
			if !deleted[i] {
				if !h.Delete(index.ID(i)) {
					t.Fatalf("Delete(%d) = false", i)
				}
				deleted[i] = true
			}
		}
		if got, want := h.Len(), len(vs)-len(deleted); got != want {
			t.Fatalf("Len = %d, want %d", got, want)
		}
		for _, r := range []float32{0.45, 0.6} {
			rec := radiusRecall(t, h, vs, qs, live, r)
			t.Logf("deleted %.0f%%: radius recall at %.2f = %.3f", 100*frac, r, rec)
			if frac == 0 {
				before[r] = rec
			}
			if rec < 0.98 || rec < before[r]-0.02 {
				t.Errorf("deleted %.0f%%: radius recall at %.2f = %.3f (before deletes %.3f)", 100*frac, r, rec, before[r])
			}
		}
		hits := 0
		for _, q := range qs {
			rs, err := h.Search(q, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) == 1 && deleted[int(rs[0].ID)] {
				t.Fatalf("Search returned deleted id %d", rs[0].ID)
			}
			want := bruteKNN(vs, live, q)
			if len(rs) == 1 && rs[0].ID == want {
				hits++
			}
		}
		if rec := float64(hits) / float64(len(qs)); rec < 0.97 {
			t.Errorf("deleted %.0f%%: recall@1 %.3f", 100*frac, rec)
		}
	}
}

func bruteKNN(vs [][]float32, live func(int) bool, q []float32) index.ID {
	best, bd := -1, math.Inf(1)
	for i, v := range vs {
		if !live(i) {
			continue
		}
		s := 0.0
		for j := range v {
			d := float64(v[j] - q[j])
			s += d * d
		}
		if s < bd {
			best, bd = i, s
		}
	}
	return index.ID(best)
}

func TestConcurrentAddSearchDelete(t *testing.T) {
	vs, qs := faces(t, 1200, 40, 4)
	for name, s := range map[string]index.Searcher{"flat": newFlat(t), "hnsw": newHNSW(t, func(c *index.HNSWConfig) { c.EfConstruction = 40 })} {
		t.Run(name, func(t *testing.T) {
			fill(t, s, vs[:200])
			var wg sync.WaitGroup
			wg.Add(3)
			go func() {
				defer wg.Done()
				for i := 200; i < len(vs); i++ {
					if err := s.Add(index.ID(i), vs[i]); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				for i := 0; i < 200; i += 2 {
					s.Delete(index.ID(i))
				}
			}()
			go func() {
				defer wg.Done()
				var dst []index.Result
				for i := 0; i < 300; i++ {
					var err error
					if dst, err = s.Within(qs[i%len(qs)], 0.6, dst); err != nil {
						t.Error(err)
						return
					}
					if _, err = s.Search(qs[i%len(qs)], 3, dst); err != nil {
						t.Error(err)
						return
					}
					if i%50 == 0 {
						if _, err := s.WithinBatch(qs[:10], 0.6); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}()
			wg.Wait()
			if got, want := s.Len(), len(vs)-100; got != want {
				t.Errorf("Len = %d, want %d", got, want)
			}
		})
	}
}

func TestIndexSwitchesBySize(t *testing.T) {
	vs, qs := faces(t, 600, 20, 5)
	c := index.DefaultConfig()
	c.ExactUpTo = 300
	x, err := index.New(c)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, x, vs[:300])
	if !x.Exact() {
		t.Fatal("Exact() = false at ExactUpTo")
	}
	for i := 300; i < len(vs); i++ {
		if err := x.Add(index.ID(i), vs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if x.Exact() || x.Len() != 600 {
		t.Fatalf("after growth: Exact %v Len %d", x.Exact(), x.Len())
	}
	all := func(int) bool { return true }
	if rec := radiusRecall(t, x, vs, qs, all, 0.6); rec < 0.95 {
		t.Errorf("radius recall after switch %.3f", rec)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*index.Config)
	}{
		{"zero dim", func(c *index.Config) { c.Dim = 0 }},
		{"bad mode", func(c *index.Config) { c.Mode = 9 }},
		{"negative ExactUpTo", func(c *index.Config) { c.ExactUpTo = -1 }},
		{"M too small", func(c *index.Config) { c.HNSW.M = 1 }},
		{"negative ef", func(c *index.Config) { c.HNSW.EfSearch = -1 }},
		{"NaN slack", func(c *index.Config) { c.HNSW.RangeSlack = float32(math.NaN()) }},
		{"negative block", func(c *index.Config) { c.Flat.BlockRows = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := index.DefaultConfig()
			tt.mod(&c)
			if _, err := index.New(c); !errors.Is(err, index.ErrInvalidArgument) {
				t.Fatalf("New: %v, want ErrInvalidArgument", err)
			}
		})
	}
}

// TestZeroConfigMeansDefault checks the Config idiom: every zero field
// takes the default, so a Config with only Dim set is DefaultConfig.
func TestZeroConfigMeansDefault(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  index.Config
		want index.Config
	}{
		{"only Dim", index.Config{Dim: 128}, index.DefaultConfig()},
		{"the default", index.DefaultConfig(), index.DefaultConfig()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := index.New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := x.Config(); got != tc.want {
				t.Errorf("Config() = %+v, want %+v", got, tc.want)
			}
		})
	}
}
