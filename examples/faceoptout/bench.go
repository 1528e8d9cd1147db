package main

import (
	"context"
	"errors"
	"io"
)

// cmdBench is being written; see the issue tracker.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
