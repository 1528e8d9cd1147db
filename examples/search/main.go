// Command search is a toy image search service whose results pass through
// the faceoptout exclusion Filter (FilterResults) before they are shown:
// every result that is not Allow (blocked, sent to review, or unchecked) is
// dropped, and the response counts what was dropped.
//
// Usage:
//
//	search [--addr 127.0.0.1:8080] [--registry DIR] [--models DIR] (--index FILE | --dir DIR)
//
// The corpus is the crawler's index file (examples/crawler --index FILE) or
// a folder of images. A query matches the words of an image's URL or path:
//
//	GET /search?q=penny+beach&n=10
//	{"query":"penny beach","results":[{"source":{"url":"..."},"score":1}],
//	 "filter":{"checked":3,"kept":1,"blocked":2,"review":0,"unchecked":0}}
//
// The environment: $FACEOPTOUT_REGISTRY, $FACEOPTOUT_MODELS,
// $FACEOPTOUT_KEY_FILE (an encrypted registry's operator key) and
// $FACEOPTOUT_APPROXIMATE_ABOVE (above this many faces of a model an HNSW
// graph answers the face searches; unset or 0: exact).
//
// Each result's image is fetched (or read) again and checked when it is
// about to be shown, so an opt-out approved after the crawl takes effect at
// once. Caveat: the registry is opened by this process (one process at a
// time); restart the service to see approvals made with the CLI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/faceoptout/faceoptout/examples/crawler/crawl"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := mainErr(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "search:", err)
		os.Exit(1)
	}
}

func mainErr(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	regFlag := fs.String("registry", "", "registry directory (default $"+registrydir.Env+")")
	models := fs.String("models", "", "directory of the model files (default $FACEOPTOUT_MODELS, else models); the registry's own model (dlib or ONNX) is loaded")
	indexPath := fs.String("index", "", "the crawler's index file")
	dir := fs.String("dir", "", "a folder of images")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*indexPath == "") == (*dir == "") {
		return errors.New("give exactly one of --index FILE and --dir DIR")
	}
	docs, err := loadCorpus(*indexPath, *dir)
	if err != nil {
		return err
	}
	ef := embedder.Defaults(os.Getenv, *models, embedder.ONNX)
	ef.Dlib.Workers = 2
	sess, err := registrydir.OpenFromEnv(ctx, os.Getenv, *regFlag, ef)
	if err != nil {
		return err
	}
	defer sess.Close()
	reg, emb := sess.Registry, sess.Embedder
	f, err := exclusion.NewFilter(reg, emb, exclusion.DefaultFilterConfig())
	if err != nil {
		return err
	}
	h, err := newServer(f, docs)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 2 * time.Minute}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("search: %d images, listening on http://%s/search?q=...", len(docs), *addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loadCorpus reads the crawler's index file or lists a folder's images.
func loadCorpus(indexPath, dir string) ([]crawl.Source, error) {
	if indexPath != "" {
		if _, err := os.Stat(indexPath); err != nil {
			return nil, err // LoadIndex treats a missing file as empty
		}
		idx, err := crawl.LoadIndex(indexPath)
		if err != nil {
			return nil, err
		}
		var out []crawl.Source
		for _, e := range idx.Entries() {
			out = append(out, e.Source)
		}
		return out, nil
	}
	return crawl.Sources(dir)
}
