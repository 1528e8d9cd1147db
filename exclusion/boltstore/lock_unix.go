//go:build unix

package boltstore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockShared takes a shared lock on f (the lock bbolt takes exclusively
// when it opens the file), waiting up to timeout, so that the file is not
// walked while another process writes it. Closing f releases it.
func lockShared(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("boltstore: lock: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("boltstore: lock: %w", errLocked)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
