// Command demo is faceoptout's main demonstration (make demo): it creates a
// registry in a temporary directory, enrols face opt-outs and a DSA image
// removal, approves them, serves a set of photos from a local web server
// (127.0.0.1 only), crawls them through the exclusion Filter, and prints
// what was blocked and why (request, distance, threshold), what was
// allowed, sent to review or left unchecked. Then it withdraws one opt-out
// and crawls again: that person's photos are allowed again.
//
// Usage:
//
//	go run ./examples/demo [--models DIR] [--faces DIR] [--workers N] [--keep]
//
// The dlib models come from --models, $FACEOPTOUT_MODELS or models/ in the
// working directory (make demo runs it from the repository's root and
// fetches them). The photos come from --faces, testdata/bbt in the repository (the faces/bbt photos of the face-api.js
// examples; ../shared/faces/bbt or $FACEOPTOUT_FACES/bbt when present): three
// people opt out (sheldon1.png, penny1.png, leonard1.png); their other crops,
// the other five people (strangers to the registry), the group photos
// bbt1-5.jpg and some variants are crawled. When --faces names a directory
// without the photos the demo says so and runs on synthetic images it
// generates, which show no faces: only the DSA removal path (URL, perceptual
// hash of a resized, re-encoded copy) is demonstrated then.
//
// It takes well under a minute on 2 cores.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/faceoptout/faceoptout/examples/internal/progenv"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
)

// options configure run.
type options struct {
	// Embedder finds and describes faces.
	Embedder registrydir.Embedder
	// BBTDir holds the faces/bbt photos (<name>/<name>N.png, bbtN.jpg); ""
	// or a missing directory selects the synthetic images.
	BBTDir string
	// Workers is the crawler's concurrency.
	Workers int
	// Dir is where the registry is created (a temporary directory).
	Dir string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := mainErr(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func mainErr(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	models := fs.String("models", progenv.ModelsDir("", os.Getenv), "dlib models directory (default $"+progenv.ModelsEnv+", else models)")
	faces := fs.String("faces", progenv.BBTDir("", os.Getenv), "directory of the faces/bbt photos (<name>/<name>N.png, bbtN.jpg)")
	workers := fs.Int("workers", 2, "images crawled at once")
	keep := fs.Bool("keep", false, "keep the temporary registry directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, f := range progenv.ModelFiles {
		if _, err := os.Stat(filepath.Join(*models, f)); err != nil {
			return fmt.Errorf("dlib model %s missing in %s: run make demo (it fetches them with scripts/fetch-models.sh) or set FACEOPTOUT_MODELS", f, *models)
		}
	}
	dir, err := os.MkdirTemp("", "faceoptout-demo-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(stdout, "registry kept in", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	start := time.Now()
	d, emb, err := registrydir.NewDlib(*models, *workers)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintf(stdout, "dlib models loaded from %s in %v\n", *models, time.Since(start).Round(time.Millisecond))
	err = run(ctx, options{Embedder: emb, BBTDir: *faces, Workers: *workers, Dir: filepath.Join(dir, "registry")}, stdout)
	fmt.Fprintf(stdout, "\ndemo finished in %v\n", time.Since(start).Round(100*time.Millisecond))
	return err
}
