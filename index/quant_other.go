//go:build !amd64

package index

var useAVX2 = false

func scan1AVX2(q *int8, rows *uint8, stride, n int, norms *int32, lim int32, out *uint8) {
	panic("index: no assembly kernels on this architecture")
}

func scan4AVX2(q *int8, rows *uint8, stride, n int, norms *int32, lim *int32, out *uint8) {
	panic("index: no assembly kernels on this architecture")
}

var useGather = false

func gatherAVX2(q *float32, base *float32, dim int, ids *uint32, n int, out *float32) {
	panic("index: no assembly kernels on this architecture")
}

func dotU8AVX2(q *int8, row *uint8, n int) int32 {
	panic("index: no assembly kernels on this architecture")
}
