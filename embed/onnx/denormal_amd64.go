//go:build amd64

package onnx

// #include <xmmintrin.h>
//
// // fo_flush_denormals sets the calling thread's MXCSR to flush denormal
// // results to zero (FTZ, bit 15) and to read denormal inputs as zero
// // (DAZ, bit 6), and returns the previous MXCSR.
// static unsigned int fo_flush_denormals(void) {
// 	unsigned int c = _mm_getcsr();
// 	_mm_setcsr(c | 0x8040u);
// 	return c;
// }
//
// static void fo_restore_mxcsr(unsigned int c) { _mm_setcsr(c); }
import "C"

import "runtime"

// withDenormalsFlushed runs f on one OS thread whose SSE control register
// flushes denormal numbers to zero, and restores the register before the
// thread runs any other goroutine.
func withDenormalsFlushed(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	saved := C.fo_flush_denormals()
	defer C.fo_restore_mxcsr(saved)
	return f()
}
