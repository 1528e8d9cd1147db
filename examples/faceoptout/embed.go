package main

import (
	"context"
	"errors"
	"io"
)

// cmdEmbed is being written; see the issue tracker.
func cmdEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
