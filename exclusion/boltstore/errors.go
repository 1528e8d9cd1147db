package boltstore

import (
	"errors"
	"fmt"

	"github.com/faceoptout/faceoptout/exclusion"
)

// ErrFailed reports that a write of this Store failed (write or fsync error,
// disk full): whether the failed transaction reached the disk is unknown, so
// the Store refuses every later call until it is closed and opened again,
// which verifies the file. It wraps the original error.
var ErrFailed = errors.New("boltstore: a write failed; close and reopen the store")

// errLocked reports that another process holds the store open.
var errLocked = errors.New("the file is held open by another process")

// CorruptError reports damage found in a store file: where it is and what
// is wrong. It matches errors.Is(err, exclusion.ErrCorrupt).
type CorruptError struct {
	// Where locates the damage: "meta page 1 (offset 4096)", "page 12",
	// or `bucket "requests" key "r-..."`.
	Where string
	// Problem says what is wrong there.
	Problem string
}

// Error implements error.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("boltstore: corrupt store: %s: %s", e.Where, e.Problem)
}

// Unwrap returns exclusion.ErrCorrupt.
func (e *CorruptError) Unwrap() error { return exclusion.ErrCorrupt }
