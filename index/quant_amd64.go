package index

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels; tests turn it off to exercise the
// portable ones on this CPU as well.
var useAVX2 = cpu.X86.HasAVX2

// dots1AVX2 is dots1 for n a multiple of 4 and stride a positive multiple
// of 16.
//
//go:noescape
func dots1AVX2(q *int16, rows *int8, stride, n int, out *int32)

// dots4AVX2 is dots4 for n a multiple of 2 and stride a positive multiple
// of 16.
//
//go:noescape
func dots4AVX2(q *int16, rows *int8, stride, n int, out *int32)
