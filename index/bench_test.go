package index_test

import (
	"fmt"
	"math"
	mrand "math/rand"
	"testing"

	"github.com/coder/hnsw"

	"github.com/faceoptout/faceoptout/index"
)

// The full comparison (build rate, memory, recall, hnswlib) is
// `go run ./examples/bench index`; these benchmarks time the
// query paths on synthetic face-like data with go test -bench.

const benchN = 20_000

func BenchmarkWithin(b *testing.B) {
	vs, qs := faces(b, benchN, 256, 11)
	f := newFlat(b)
	h := newHNSW(b, nil)
	fill(b, f, vs)
	fill(b, h, vs)
	g := hnsw.NewGraph[uint64]()
	g.M, g.Ml, g.Distance, g.EfSearch = 16, 1/math.Log(16), hnsw.EuclideanDistance, 100
	g.Rng = mrand.New(mrand.NewSource(1))
	for i, v := range vs {
		g.Add(hnsw.MakeNode(uint64(i), v))
	}
	for _, r := range []float32{0.45, 0.6} {
		b.Run(fmt.Sprintf("flat/r=%.2f", r), func(b *testing.B) {
			var dst []index.Result
			for i := 0; b.Loop(); i++ {
				dst, _ = f.Within(qs[i%len(qs)], r, dst)
			}
		})
		b.Run(fmt.Sprintf("flat-batch64/r=%.2f", r), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				lo := (i * 64) % (len(qs) - 64)
				f.WithinBatch(qs[lo:lo+64], r)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/query")
		})
		b.Run(fmt.Sprintf("hnsw/r=%.2f", r), func(b *testing.B) {
			var dst []index.Result
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				dst, _ = h.Within(qs[i%len(qs)], r, dst)
			}
		})
		b.Run(fmt.Sprintf("coder-hnsw-k64/r=%.2f", r), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				g.Search(qs[i%len(qs)], 64)
			}
		})
	}
}

func BenchmarkHNSWAdd(b *testing.B) {
	vs, _ := faces(b, 10_000, 0, 12)
	for b.Loop() {
		h := newHNSW(b, nil)
		fill(b, h, vs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vs)), "ns/add")
}
