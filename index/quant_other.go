//go:build !amd64

package index

var useAVX2 = false

func dots1AVX2(q *int16, rows *int8, stride, n int, out *int32) { panic("unreachable") }
func dots4AVX2(q *int16, rows *int8, stride, n int, out *int32) { panic("unreachable") }
