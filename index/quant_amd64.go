package index

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels; tests turn it off to exercise the
// portable ones on this CPU as well.
var useAVX2 = cpu.X86.HasAVX2

// scan1AVX2 is scan1 for n a multiple of 4 and stride a positive multiple
// of 32.
//
//go:noescape
func scan1AVX2(q *int8, rows *uint8, stride, n int, norms *int32, lim int32, out *uint8)

// scan4AVX2 is scan4 for n a multiple of 2 and stride a positive multiple
// of 32.
//
//go:noescape
func scan4AVX2(q *int8, rows *uint8, stride, n int, norms *int32, lim *int32, out *uint8)
