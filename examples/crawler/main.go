// Command crawler crawls images from folders, files and URLs, checks every
// one through the faceoptout exclusion Filter (CheckURL first, then
// CheckImage), and indexes only the allowed ones into a toy search index: a
// JSON file of allowed image URLs and paths, with nothing about faces. It
// prints one line per image (verdict, matching request ids, distances and
// thresholds) and the totals.
//
// Usage:
//
//	crawler [flags] SOURCE...
//
// A SOURCE is an http(s) URL, an image file, or a folder (walked for image
// files). Flags:
//
//	--registry DIR   the registry (default $FACEOPTOUT_REGISTRY); see "faceoptout init"
//	--models DIR     model files (default $FACEOPTOUT_MODELS, else models); the registry's own model (dlib or ONNX) is used
//	--index FILE     the toy index to update (default: none, print only)
//	--urls FILE      also crawl the URLs listed in FILE, one per line
//	--workers N      images fetched at once, and dlib workers (default 2)
//	--checks N       images checked at once by Filter.CheckBatch (default GOMAXPROCS+1)
//	--inflight N     image bytes held between fetch and verdict (default 256 MiB)
//	--check-memory N estimated memory of the checks under way (default 1 GiB)
//	--timeout D      per fetch (default 15s)
//	--max-bytes N    largest image fetched (default 20 MiB)
//	--json           print the results as JSON lines instead of a table
//
// The environment: $FACEOPTOUT_KEY_FILE (an encrypted registry's operator
// key), $FACEOPTOUT_APPROXIMATE_ABOVE (above this many faces of a model an
// HNSW graph answers the face searches; unset or 0: exact).
//
// Fail closed: an image that cannot be fetched, decoded or checked is
// "unchecked" and is not indexed; an image that a later crawl does not allow
// is removed from the index.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/faceoptout/faceoptout/examples/crawler/crawl"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
)

// config is what run needs: the filter is built by main (or a test).
type config struct {
	Filter    *exclusion.Filter
	Sources   []crawl.Source
	Crawl     crawl.Config
	IndexPath string // "" means do not save an index
	JSON      bool
	Now       func() time.Time
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := mainErr(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "crawler:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func mainErr(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("crawler", flag.ContinueOnError)
	fs.SetOutput(stderr)
	regFlag := fs.String("registry", "", "registry directory (default $"+registrydir.Env+")")
	models := fs.String("models", "", "directory of the model files (default $FACEOPTOUT_MODELS, else models); the registry's own model (dlib or ONNX) is loaded")
	cfg := config{Crawl: crawl.DefaultConfig(), Now: time.Now}
	fs.StringVar(&cfg.IndexPath, "index", "", "toy index JSON file to update")
	urls := fs.String("urls", "", "file of URLs to crawl, one per line")
	fs.IntVar(&cfg.Crawl.Workers, "workers", cfg.Crawl.Workers, "images fetched at once, and dlib workers")
	fs.IntVar(&cfg.Crawl.Batch.Workers, "checks", 0, "images checked at once (0: GOMAXPROCS+1)")
	fs.Int64Var(&cfg.Crawl.Batch.MaxBytes, "inflight", 0, "image bytes held between fetch and verdict (0: 256 MiB)")
	fs.Int64Var(&cfg.Crawl.Batch.MaxMemory, "check-memory", 0, "estimated memory of the checks under way, in bytes (0: 1 GiB)")
	fs.DurationVar(&cfg.Crawl.FetchTimeout, "timeout", cfg.Crawl.FetchTimeout, "timeout per fetch")
	fs.Int64Var(&cfg.Crawl.MaxBytes, "max-bytes", cfg.Crawl.MaxBytes, "largest image fetched, in bytes")
	fs.BoolVar(&cfg.JSON, "json", false, "print JSON lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srcs, err := crawl.Sources(fs.Args()...)
	if err != nil {
		return err
	}
	if *urls != "" {
		more, err := readURLs(*urls)
		if err != nil {
			return err
		}
		srcs = append(srcs, more...)
	}
	if len(srcs) == 0 {
		fs.Usage()
		return errors.New("no sources: give folders, files or URLs")
	}
	cfg.Sources = srcs
	ef := embedder.Defaults(os.Getenv, *models, embedder.ONNX)
	ef.Dlib.Workers = cfg.Crawl.Workers
	sess, err := registrydir.OpenFromEnv(ctx, os.Getenv, *regFlag, ef)
	if err != nil {
		return err
	}
	defer sess.Close()
	reg, emb := sess.Registry, sess.Embedder
	cfg.Filter, err = exclusion.NewFilter(reg, emb, exclusion.DefaultFilterConfig())
	if err != nil {
		return err
	}
	_, err = run(ctx, cfg, stdout)
	return err
}

// readURLs reads a file of URLs, one per line; blank lines and lines
// starting with # are skipped.
func readURLs(path string) ([]crawl.Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []crawl.Source
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, crawl.Source{URL: l})
	}
	return out, sc.Err()
}

// run crawls cfg.Sources, updates the index file (adding allowed images,
// removing any other), prints the results and returns them.
func run(ctx context.Context, cfg config, stdout io.Writer) ([]crawl.Result, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c, err := crawl.New(cfg.Filter, cfg.Crawl)
	if err != nil {
		return nil, err
	}
	idx := &crawl.Index{}
	if cfg.IndexPath != "" {
		if idx, err = crawl.LoadIndex(cfg.IndexPath); err != nil {
			return nil, err
		}
	}
	results := c.Crawl(ctx, cfg.Sources)
	now := cfg.Now()
	for _, r := range results {
		if r.Verdict.MayIndex() {
			if err := idx.Add(r, now); err != nil {
				return results, err
			}
		} else {
			idx.Remove(r.Source)
		}
	}
	if cfg.IndexPath != "" {
		if err := idx.Save(cfg.IndexPath); err != nil {
			return results, err
		}
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		for _, r := range results {
			line := struct {
				crawl.Result
				Error string `json:"error,omitempty"`
			}{Result: r}
			if r.Err != nil {
				line.Error = r.Err.Error()
			}
			if err := enc.Encode(line); err != nil {
				return results, err
			}
		}
		return results, nil
	}
	if err := crawl.Print(stdout, results); err != nil {
		return results, err
	}
	if cfg.IndexPath != "" {
		_, err = fmt.Fprintf(stdout, "index %s: %d images\n", cfg.IndexPath, idx.Len())
	}
	return results, err
}
