// Command faceoptout is the operator's command-line tool for a faceoptout
// registry: submit and review requests, check images, sweep an existing
// search index and compute descriptors. The benchmarks and evaluations whose
// figures the README quotes are another program, examples/bench.
//
// Usage:
//
//	faceoptout <command> [flags] [args]
//
// Run "faceoptout help" for the list of commands.
//
// The registry commands work on a registry directory given by --registry DIR
// or $FACEOPTOUT_REGISTRY, made with "faceoptout init". The commands that
// look at faces (init, submit, check, embed) take the embedder from
// --embedder dlib|onnx and its files from --models DIR,
// $FACEOPTOUT_MODELS or ./models. Without --embedder, init and embed use
// the ONNX model (scripts/fetch-onnx.sh; the figures behind the choice are
// in exclusion/EVALUATION.md), submit and check the model the registry
// records; a registry records the model it was created with and refuses
// another. check and sweep apply the model's
// calibrated threshold (embed.Model.Threshold) unless --threshold is given.
//
// With --key-file FILE or $FACEOPTOUT_KEY_FILE (an operator key, hex; init
// makes the file when it is missing), the registry keeps descriptors and
// image hashes encrypted, their per-request keys in DIR/registry.keys;
// every command then needs the key. Keep the key file, and copies of it,
// apart from the registry and its backups.
//
//	faceoptout init --registry DIR [--embedder onnx|dlib]
//	faceoptout submit --kind face --country DE --reason TEXT --name NAME --email E --phone +49... --photo FILE [--box x0,y0,x1,y1]
//	faceoptout submit --kind removal --country DE --reason TEXT --name NAME --email E --phone +49... --url URL [--photo FILE]
//	faceoptout list [--status pending]
//	faceoptout show ID
//	faceoptout pick ID --photo N --box x0,y0,x1,y1 --by REVIEWER
//	faceoptout approve|reject|withdraw ID --by REVIEWER [--note TEXT]
//	faceoptout check [--threshold T] FILE|URL...  (one JSON object per image; only "allow" may be indexed)
//	faceoptout sweep [--threshold T] FILE         (JSON lines {"id":..., "descriptor":[numbers]}; prints ids to purge)
//	faceoptout audit [ID]
//	faceoptout audit --verify                     (checks the log's hash chain; prints its head)
//	faceoptout rekey --key-file OLD --new-key-file NEW
//	faceoptout embed [--json] [--embedder dlib|onnx] [--min-face N] [--detector hog|cnn] FILE...
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

// command is one subcommand: run gets the arguments after the command's name.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Getenv, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command args names; env is how main reads the environment.
func run(ctx context.Context, env progenv.Getenv, args []string, stdout, stderr io.Writer) int {
	cmds := operator{env: env}.commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, cmds)
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "faceoptout: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "faceoptout %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: faceoptout <command> [flags] [args]")
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}
