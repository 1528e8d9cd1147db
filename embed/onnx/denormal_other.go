//go:build !amd64

package onnx

// withDenormalsFlushed runs f. Only amd64 flushes denormal numbers to
// zero; elsewhere the models run with the thread's own floating-point
// settings (the same results, slower on graphs that produce denormals).
func withDenormalsFlushed(f func() error) error { return f() }
