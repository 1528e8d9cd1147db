package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

func TestGather(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dim := range []int{16, 32, 128, 130, 7} {
		for _, asm := range []bool{false, true} {
			t.Run(fmt.Sprintf("dim=%d/asm=%v", dim, asm), func(t *testing.T) {
				if asm && !useGather {
					t.Skip("no AVX2+FMA")
				}
				saved := useGather
				defer func() { useGather = saved }()
				useGather = asm
				const rows = 300
				base := make([]float32, rows*dim)
				for i := range base {
					base[i] = float32(rng.NormFloat64())
				}
				q := make([]float32, dim)
				for i := range q {
					q[i] = float32(rng.NormFloat64())
				}
				for _, n := range []int{0, 1, 2, 3, 48, 97} {
					ids := make([]uint32, n)
					for i := range ids {
						ids[i] = uint32(rng.IntN(rows))
					}
					out := make([]float32, n+1)
					out[n] = -1
					gather(q, base, ids, out)
					if out[n] != -1 {
						t.Fatalf("n=%d: wrote past the ids", n)
					}
					for i, id := range ids {
						want := distScalar(q, base[int(id)*dim:int(id)*dim+dim])
						got := float32(math.Sqrt(float64(out[i])))
						if math.Abs(float64(got-want)) > 1e-5*float64(want)+1e-6 {
							t.Fatalf("n=%d row %d: %v, want %v", n, i, got, want)
						}
					}
				}
			})
		}
	}
}

func BenchmarkGather(b *testing.B) {
	const rows, dim, deg = 1 << 20, 128, 48
	rng := rand.New(rand.NewPCG(1, 2))
	base := make([]float32, rows*dim)
	// FO_HUGE=1: the rows on transparent huge pages, as HNSW keeps them.
	if os.Getenv("FO_HUGE") != "" {
		adviseHuge(base)
	}
	for i := range base {
		base[i] = rng.Float32()
	}
	q := base[:dim]
	lists := make([]uint32, 4096*deg)
	for i := range lists {
		lists[i] = uint32(rng.IntN(rows))
	}
	out := make([]float32, deg)
	b.Run("dist", func(b *testing.B) {
		var s float32
		for i := 0; b.Loop(); i++ {
			l := lists[(i%4096)*deg : (i%4096+1)*deg]
			for _, id := range l {
				s += dist(q, base[int(id)*dim:int(id)*dim+dim])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*deg), "ns/vector")
		_ = s
	})
	b.Run("gather", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			gather(q, base, lists[(i%4096)*deg:(i%4096+1)*deg], out)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*deg), "ns/vector")
	})
}
