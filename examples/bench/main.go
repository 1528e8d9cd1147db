// Command bench runs the benchmarks and evaluations whose figures the
// README, index/BENCHMARKS.md and exclusion/EVALUATION.md quote, each beside
// its baseline in the same run.
//
// Usage:
//
//	bench <command> [flags]
//
//	bench embed [flags]   photos/s, faces found and descriptor agreement by MinFaceSize
//	bench index [flags]   exact, HNSW, coder/hnsw and hnswlib on face-like data
//	bench filter [flags]  the exclusion Filter on a crawl mix, beside FacesBytes and go-face
//	bench eval [flags]    FNMR/FPIR of the decision policies on labelled faces
//
// Run "bench help" for the list, "bench COMMAND -h" for a command's flags.
// Built with -tags gofacebaseline, bench embed adds plain go-face as its
// baseline row (go-face builds with -march=native: never in production code).
//
// The dlib models come from --models, $FACEOPTOUT_MODELS or ./models; the
// shared photos from flags naming them, else $FACEOPTOUT_FACES, else
// ../shared/faces (paths relative to the working directory: run it from the
// repository's root).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/faceoptout/faceoptout/examples/internal/progenv"
)

// command is one subcommand: run gets the arguments after the command's
// name and the environment main read.
type command struct {
	summary string
	run     func(ctx context.Context, env progenv.Getenv, args []string, stdout, stderr io.Writer) error
}

// commands lists every subcommand; each lives in a file of its own.
func commands() map[string]command {
	return map[string]command{
		"embed":  {"photos/s, faces found and descriptor agreement of the embed pipelines (and go-face with -tags gofacebaseline)", benchEmbed},
		"index":  {"exact, HNSW, coder/hnsw and hnswlib on face-like data: build rate, memory, latency, recall", benchIndex},
		"filter": {"images/s, latency, peak RSS and verdicts of the exclusion Filter on a crawl mix, beside bare FacesBytes and go-face", benchFilter},
		"eval":   {"FNMR/FPIR of the decision policies on labelled faces (Markdown report and DET curve)", cmdEval},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Getenv, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, env progenv.Getenv, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, cmds)
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "bench: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	if err := c.run(ctx, env, args[1:], stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "bench %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: bench <command> [flags]")
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-6s %s\n", n, cmds[n].summary)
	}
}
