//go:build unix

package index

import (
	"syscall"
	"time"
)

// cpuTime returns the process's user plus system CPU time, so benchmarks on
// a shared machine can report cost besides wall-clock time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
