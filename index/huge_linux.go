package index

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on Linux/amd64 and arm64.
const hugePage = 2 << 20

// adviseHuge asks the kernel to back the whole 2 MiB pages inside s with
// transparent huge pages (MADV_HUGEPAGE; honoured when THP is "madvise" or
// "always"). Graph search reads vectors and neighbour lists at random over
// hundreds of megabytes: with 4 KiB pages nearly every read also misses the
// TLB. It is advice: an error (THP off, an old kernel) changes nothing.
func adviseHuge[T any](s []T) {
	if cap(s) == 0 {
		return
	}
	s = s[:cap(s)]
	n := uintptr(len(s)) * unsafe.Sizeof(s[0])
	if n < 2*hugePage {
		return
	}
	p := uintptr(unsafe.Pointer(&s[0]))
	lo := (p + hugePage - 1) &^ (hugePage - 1)
	hi := (p + n) &^ (hugePage - 1)
	if hi <= lo {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), n)
	_ = unix.Madvise(b[lo-p:hi-p], unix.MADV_HUGEPAGE)
}
