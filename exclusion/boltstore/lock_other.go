//go:build !unix

package boltstore

import (
	"os"
	"time"
)

// lockShared does nothing where bbolt's lock is not flock.
func lockShared(*os.File, time.Duration) error { return nil }
