package main

import (
	"context"
	"errors"
	"io"
)

// cmdEval is being written; see the issue tracker.
func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
