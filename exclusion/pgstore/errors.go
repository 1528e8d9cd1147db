package pgstore

import "errors"

var (
	// ErrSchema means the database's schema is newer than this program, or
	// unusable.
	ErrSchema = errors.New("pgstore: unsupported schema")
	// ErrNotDurable means the server is set up so that a committed
	// transaction may be lost in a crash (fsync off, or synchronous_commit
	// cannot be turned on): the store refuses to acknowledge requests there.
	ErrNotDurable = errors.New("pgstore: server settings lose committed transactions")
)
