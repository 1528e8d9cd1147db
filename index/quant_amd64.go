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

// useGather selects gather's AVX2+FMA kernel; tests turn it off too.
var useGather = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// gatherAVX2 is gather for dim a positive multiple of 16 and every id in
// range.
//
//go:noescape
func gatherAVX2(q *float32, base *float32, dim int, ids *uint32, n int, out *float32)

// dotU8AVX2 is dotU8 for n a positive multiple of 32.
//
//go:noescape
func dotU8AVX2(q *int8, row *uint8, n int) int32
