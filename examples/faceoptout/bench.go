package main

import (
	"context"
	"fmt"
	"io"
)

// cmdBench runs one of the benchmarks whose figures the README quotes:
//
//	faceoptout bench index [flags]   exact, HNSW, coder/hnsw and hnswlib on face-like data
//	faceoptout bench embed [flags]   photos/s, faces found and descriptor agreement by MinFaceSize
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: faceoptout bench index|embed [flags]")
	}
	switch args[0] {
	case "index":
		return benchIndex(ctx, args[1:], stdout, stderr)
	case "embed":
		return benchEmbed(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown benchmark %q: want index or embed", args[0])
}
