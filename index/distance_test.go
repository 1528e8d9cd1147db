package index

import (
	"math/rand/v2"
	"testing"
)

func TestDistKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 7, 8, 128, 129} {
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = rng.Float32(), rng.Float32()
		}
		if d, s := dist(a, b), distScalar(a, b); d-s > 1e-5 || s-d > 1e-5 {
			t.Errorf("n=%d: SIMD %v, scalar %v", n, d, s)
		}
	}
}

func BenchmarkDist(b *testing.B) {
	a, c := make([]float32, 128), make([]float32, 128)
	for i := range a {
		a[i], c[i] = float32(i), float32(2*i)
	}
	b.Run("vek", func(b *testing.B) {
		for b.Loop() {
			dist(a, c)
		}
	})
	b.Run("scalar", func(b *testing.B) {
		for b.Loop() {
			distScalar(a, c)
		}
	})
}
