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
	var s0, s1, s2, s3 float32
	b = b[:len(a)]
	i := 0
	for ; i+4 <= len(a); i += 4 {
		d0 := a[i] - b[i]
		d1 := a[i+1] - b[i+1]
		d2 := a[i+2] - b[i+2]
		d3 := a[i+3] - b[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(a); i++ {
		d := a[i] - b[i]
		s0 += d * d
	}
	return sqrt32(s0 + s1 + s2 + s3)
}
