package keyfile

import (
	"errors"
	"fmt"

	"github.com/faceoptout/faceoptout/exclusion"
)

var (
	// ErrCorrupt means the file fails its checks. It wraps
	// exclusion.ErrCorrupt; the error is a *CorruptError.
	ErrCorrupt = fmt.Errorf("keyfile: corrupt keyring: %w", exclusion.ErrCorrupt)
	// ErrLocked means another process has the file open.
	ErrLocked = errors.New("keyfile: locked by another process")
	// ErrTooLong means an id or a key is longer than a slot holds (MaxIDLen,
	// MaxKeyLen), or empty.
	ErrTooLong = errors.New("keyfile: id or key of a bad length")
)

// CorruptError says where the file is damaged. It matches ErrCorrupt (and
// so exclusion.ErrCorrupt) with errors.Is.
type CorruptError struct {
	// Offset is the byte offset of the damaged header or slot.
	Offset int64
	// Problem says what is wrong.
	Problem string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s: at byte %d: %s", ErrCorrupt, e.Offset, e.Problem)
}

// Is reports whether target is ErrCorrupt or exclusion.ErrCorrupt.
func (e *CorruptError) Is(target error) bool {
	return target == ErrCorrupt || target == exclusion.ErrCorrupt
}
