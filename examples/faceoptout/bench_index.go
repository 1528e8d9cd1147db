package main

import (
	"context"
	"errors"
	"io"
)

// benchIndex is being written; see the issue tracker.
func benchIndex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
