package index

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// TestAdviseHuge checks that makeHuge's memory is backed by transparent
// huge pages where the kernel offers them on request.
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
	kb := anonHugeKB(t, p)
	t.Logf("AnonHugePages of the 64 MiB mapping: %d kB", kb)
	if kb == 0 {
		t.Errorf("no huge pages behind a 64 MiB makeHuge (THP %s)", strings.TrimSpace(string(mode)))
	}
	// Small and empty slices are left alone.
	adviseHuge([]float32(nil))
	adviseHuge(make([]byte, 10))
}

// anonHugeKB returns AnonHugePages of the mapping of /proc/self/smaps
// holding address p.
func anonHugeKB(t *testing.T, p uintptr) int {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &lo, &hi); n == 2 && strings.Contains(line, " ") {
			in = p >= lo && p < hi
			continue
		}
		var kb int
		if in {
			if n, _ := fmt.Sscanf(line, "AnonHugePages: %d kB", &kb); n == 1 {
				return kb
			}
		}
	}
	t.Fatal("mapping not found in /proc/self/smaps")
	return 0
}
