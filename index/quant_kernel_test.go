package index

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDotKernels compares the assembly kernels (where the CPU has them) with
// the portable ones on random and extreme codes, including -128 and 127 in
// rows and ±32767 in queries (the shadow itself only uses ±127).
func TestDotKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	fills := map[string]func() (int16, int8){
		"random": func() (int16, int8) { return int16(rng.IntN(255) - 127), int8(rng.IntN(256) - 128) },
		"max":    func() (int16, int8) { return 127, 127 },
		"min":    func() (int16, int8) { return -128, -128 },
		"mixed":  func() (int16, int8) { return -128, 127 },
		"wideq":  func() (int16, int8) { return []int16{-32768, 32767}[rng.IntN(2)], []int8{-128, 127}[rng.IntN(2)] },
	}
	for name, fill := range fills {
		for _, stride := range []int{16, 32, 128, 144} {
			for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 8, 33} {
				q := make([]int16, 4*stride)
				rows := make([]int8, n*stride)
				for i := range q {
					q[i], _ = fill()
				}
				for i := range rows {
					_, rows[i] = fill()
				}
				want1, got1 := make([]int32, n), make([]int32, n)
				want4, got4 := make([]int32, 4*n), make([]int32, 4*n)
				// Reference in int64 so that the kernel's int32 sums are checked.
				for i := range n {
					for k := range 4 {
						var s int64
						for j := range stride {
							s += int64(q[k*stride+j]) * int64(rows[i*stride+j])
						}
						want4[4*i+k] = int32(s)
						if k == 0 {
							want1[i] = int32(s)
						}
					}
				}
				for _, asm := range []bool{false, true} {
					if asm && !useAVX2 {
						continue
					}
					func() {
						saved := useAVX2
						defer func() { useAVX2 = saved }()
						useAVX2 = asm
						clear(got1)
						clear(got4)
						dots1(q, rows, stride, n, got1)
						dots4(q, rows, stride, n, got4)
					}()
					if !slices.Equal(got1, want1) {
						t.Errorf("%s stride=%d n=%d asm=%v: dots1 %v, want %v", name, stride, n, asm, got1, want1)
					}
					if !slices.Equal(got4, want4) {
						t.Errorf("%s stride=%d n=%d asm=%v: dots4 %v, want %v", name, stride, n, asm, got4, want4)
					}
				}
			}
		}
	}
}
