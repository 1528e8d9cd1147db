package index

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestFinite(t *testing.T) {
	bad := []float32{
		float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc00001), math.Float32frombits(0xff800001),
	}
	good := []float32{0, -0.0, 1, -1, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1e-40, -1e-40}
	for _, n := range []int{1, 3, 4, 7, 1000, 3<<20 + 5} {
		v := make([]float32, n)
		for i := range v {
			v[i] = good[i%len(good)]
		}
		if !finite(v) {
			t.Fatalf("n=%d: finite values reported as not finite", n)
		}
		for _, b := range bad {
			for _, at := range []int{0, n / 2, n - 1} {
				v[at] = b
				if finite(v) {
					t.Fatalf("n=%d: %v at %d not found", n, b, at)
				}
				v[at] = 0
			}
		}
	}
}

// fabricatedHNSW returns a graph of n random nodes with random (valid)
// links: the shape of a built graph without the cost of building it, for
// timing Load.
func fabricatedHNSW(tb testing.TB, n int) *HNSW {
	tb.Helper()
	h, err := NewHNSW(DefaultHNSWConfig())
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	h.reserveLocked(n)
	v := make([]float32, h.cfg.Dim)
	for i := range n {
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		h.newNode(ID(i)*7+3, v, h.drawLevel())
	}
	cs := make([]cand, 0, h.m0)
	for i := range n {
		for l := 0; l <= int(h.levels[i]); l++ {
			mmax := h.cfg.M
			if l == 0 {
				mmax = h.m0
			}
			cs = cs[:0]
			for range mmax {
				x := uint32(rng.IntN(n))
				if x != uint32(i) && int(h.levels[x]) >= l {
					cs = append(cs, cand{n: x})
				}
			}
			h.setLinks(uint32(i), l, cs)
		}
		if int(h.levels[i]) > h.top {
			h.entry, h.top = uint32(i), int(h.levels[i])
		}
	}
	for i := 0; i < n; i += 11 {
		h.Delete(ID(i)*7 + 3)
	}
	return h
}

// BenchmarkLoadHNSW times LoadHNSW of a fabricated graph of 200 k nodes
// (FACEOPTOUT_LOAD_N overrides the size).
func BenchmarkLoadHNSW(b *testing.B) {
	n := 200_000
	if s := os.Getenv("FACEOPTOUT_LOAD_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	p := filepath.Join(b.TempDir(), "g.idx")
	if err := fabricatedHNSW(b, n).WriteFile(p); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		h, err := LoadHNSW(p, DefaultHNSWConfig())
		if err != nil || h.Nodes() != n {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9, "s/load")
}
