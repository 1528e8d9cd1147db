package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestScanKernels compares the assembly kernels (where the CPU has them)
// and the portable ones with an int64 reference, on random and extreme
// codes (rows 0 and 255, queries ±63 and the int8 extremes the shadow never
// produces but which still must not saturate below 255·63·2), with limits
// around the actual values so that both outcomes occur.
func TestScanKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	fills := map[string]func() (int8, uint8){
		"random": func() (int8, uint8) { return int8(rng.IntN(127) - 63), uint8(rng.IntN(256)) },
		"max":    func() (int8, uint8) { return 63, 255 },
		"min":    func() (int8, uint8) { return -63, 255 },
		"zero":   func() (int8, uint8) { return 0, 0 },
		"mixed": func() (int8, uint8) {
			return []int8{-63, 63, 0}[rng.IntN(3)], []uint8{0, 255, 128}[rng.IntN(3)]
		},
	}
	for name, fill := range fills {
		for _, stride := range []int{32, 64, 128, 160} {
			for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 33} {
				q := make([]int8, 4*stride)
				rows := make([]uint8, n*stride)
				norms := make([]int32, n)
				for i := range q {
					q[i], _ = fill()
				}
				for i := range rows {
					_, rows[i] = fill()
				}
				lhs := make([][4]int64, n)
				for i := range n {
					norms[i] = int32(rng.IntN(1 << 20))
					for k := range 4 {
						var s int64
						for j := range stride {
							s += int64(q[k*stride+j]) * int64(rows[i*stride+j])
						}
						lhs[i][k] = int64(norms[i]) - 4*s
					}
				}
				var lim [4]int32
				for k := range lim {
					lim[k] = int32(lhs[rng.IntN(n)][k]) // some rows kept, some not
				}
				want1 := make([]uint8, (n+3)/4)
				want4 := make([]uint8, n)
				for i := range n {
					if lhs[i][0] <= int64(lim[0]) {
						want1[i/4] |= 1 << (i % 4)
					}
					for k := range 4 {
						if lhs[i][k] <= int64(lim[k]) {
							want4[i] |= 1 << k
						}
					}
				}
				for _, asm := range []bool{false, true} {
					if asm && !useAVX2 {
						continue
					}
					got1 := slices.Repeat([]uint8{0xAA}, len(want1))
					got4 := slices.Repeat([]uint8{0xAA}, len(want4))
					func() {
						saved := useAVX2
						defer func() { useAVX2 = saved }()
						useAVX2 = asm
						scan1(q, rows, stride, n, norms, lim[0], got1)
						scan4(q, rows, stride, n, norms, &lim, got4)
					}()
					if !slices.Equal(got1, want1) {
						t.Errorf("%s stride=%d n=%d asm=%v: scan1 %08b, want %08b", name, stride, n, asm, got1, want1)
					}
					if !slices.Equal(got4, want4) {
						t.Errorf("%s stride=%d n=%d asm=%v: scan4 %04b, want %04b", name, stride, n, asm, got4, want4)
					}
				}
			}
		}
	}
}

// BenchmarkScan reports the kernels' cost per row and query on a block of
// codes that stays in cache.
func BenchmarkScan(b *testing.B) {
	for _, n := range []int{128, 512, 2048} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchScan(b, n) })
	}
}

func benchScan(b *testing.B, n int) {
	const stride = 128
	q := make([]int8, 4*stride)
	rows := make([]uint8, n*stride)
	norms := make([]int32, n)
	for i := range rows {
		rows[i] = uint8(i*7 + i/13)
	}
	for i := range q {
		q[i] = int8(i%127 - 63)
	}
	out := make([]uint8, n)
	lim := [4]int32{-1 << 30, -1 << 30, -1 << 30, -1 << 30}
	b.Run("scan1", func(b *testing.B) {
		for b.Loop() {
			scan1(q, rows, stride, n, norms, lim[0], out)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row-query")
	})
	b.Run("scan4", func(b *testing.B) {
		for b.Loop() {
			scan4(q, rows, stride, n, norms, &lim, out)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n*4), "ns/row-query")
	})
}

// BenchmarkScanMemory runs scan1 over more codes than the caches hold (the
// single-query case at a million rows), in blocks as Within does.
func BenchmarkScanMemory(b *testing.B) {
	const stride, n = 128, 1 << 20
	q := make([]int8, stride)
	rows := make([]uint8, n*stride)
	norms := make([]int32, n)
	for i := range rows {
		rows[i] = uint8(i*7 + i/13)
	}
	out := make([]uint8, 1024/4)
	for b.Loop() {
		for lo := 0; lo < n; lo += 1024 {
			scan1(q, rows[lo*stride:(lo+1024)*stride], stride, 1024, norms[lo:lo+1024], -1<<30, out)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/scan")
	b.ReportMetric(float64(n*stride)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}
