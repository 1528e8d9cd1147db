//go:build !amd64

package index

var useAVX2 = false

func scan1AVX2(q *int8, rows *uint8, stride, n int, norms *int32, lim int32, out *uint8) {
	panic("index: no assembly kernels on this architecture")
}

func scan4AVX2(q *int8, rows *uint8, stride, n int, norms *int32, lim *int32, out *uint8) {
	panic("index: no assembly kernels on this architecture")
}
