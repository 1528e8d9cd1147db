package index

import (
	"github.com/viterin/vek/vek32"
)

// dist returns the Euclidean distance between a and b, which have the same
// non-zero length. It uses vek's AVX2 kernel where the CPU has one.
func dist(a, b []float32) float32 {
	return vek32.Distance(a, b)
}

// distScalar is the portable reference the SIMD kernel is tested against.
func distScalar(a, b []float32) float32 {
	return sqrt32(sqDist(a, b))
}
