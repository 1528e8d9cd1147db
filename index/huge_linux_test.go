package index

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// TestAdviseHuge checks that makeHuge's memory carries the MADV_HUGEPAGE
// advice. Whether huge pages then back it depends on the kernel and on
// whether the Go heap hands out fresh or reused memory (pages already
// faulted in stay small until khugepaged collapses them), so that is only
// logged.
func TestAdviseHuge(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages off here (%q, %v)", mode, err)
	}
	s := makeHuge[float32](64 << 20 / 4)
	for i := range s {
		s[i] = 1
	}
	// madvise splits the mapping: the advised range starts at the first
	// 2 MiB boundary inside s.
	p := (uintptr(unsafe.Pointer(&s[0])) + hugePage - 1) &^ (hugePage - 1)
	flags, kb := smapsOf(t, p)
	t.Logf("mapping at %#x: VmFlags %v, AnonHugePages %d kB", p, flags, kb)
	if !slices.Contains(flags, "hg") {
		t.Errorf("the mapping of a 64 MiB makeHuge lacks the hg (MADV_HUGEPAGE) flag: %v", flags)
	}
	// Small and empty slices are left alone.
	adviseHuge([]float32(nil))
	adviseHuge(make([]byte, 10))
}

// smapsOf returns the VmFlags and AnonHugePages of the mapping of
// /proc/self/smaps holding address p.
func smapsOf(t *testing.T, p uintptr) (flags []string, hugeKB int) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	in, found := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &lo, &hi); n == 2 {
			in = p >= lo && p < hi
			found = found || in
			continue
		}
		if !in {
			continue
		}
		if v, ok := strings.CutPrefix(line, "VmFlags:"); ok {
			flags = strings.Fields(v)
		}
		fmt.Sscanf(line, "AnonHugePages: %d kB", &hugeKB)
	}
	if !found {
		t.Fatal("mapping not found in /proc/self/smaps")
	}
	return flags, hugeKB
}
