//go:build unix

package keyfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lock takes an exclusive lock on f without waiting. Closing f releases it.
func lock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrLocked
	}
	if err != nil {
		return fmt.Errorf("keyfile: lock: %w", err)
	}
	return nil
}
