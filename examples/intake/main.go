// Command intake is a small intake web app for faceoptout requests
// (net/http and html/template, no JavaScript): a public form for face
// opt-outs (country, reason, name, email, phone, photo upload) and one for
// DSA image removals (URLs, optional image), with validation errors shown
// per field and a confirmation page with the request id; and a reviewer page
// (HTTP basic auth) listing pending requests with the detected faces' boxes
// and quality, where a reviewer picks a face, approves or rejects.
//
// Usage:
//
//	FACEOPTOUT_REVIEWER_TOKEN=secret intake [--addr 127.0.0.1:8081] [--registry DIR] [--models DIR]
//
// Reviewers log in with any user name (recorded in the audit log) and the
// token as password. Without a token the reviewer pages are disabled.
// Uploaded photos are never stored: only their hashes and face
// descriptors; the reviewer page shows each photo's frame with the face
// boxes, not the photo. Uploads are limited to 20 MiB per photo.
//
// Serve it behind a TLS-terminating proxy: basic auth and personal data
// must not cross the network in clear text.
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

	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
)

// TokenEnv names the environment variable holding the reviewer token.
const TokenEnv = "FACEOPTOUT_REVIEWER_TOKEN"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := mainErr(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "intake:", err)
		os.Exit(1)
	}
}

func mainErr(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("intake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	regFlag := fs.String("registry", "", "registry directory (default $"+registrydir.Env+")")
	models := fs.String("models", "", "dlib models directory (default $FACEOPTOUT_MODELS, else models)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sess, err := registrydir.OpenWithDlib(ctx, *regFlag, *models, 2)
	if err != nil {
		return err
	}
	defer sess.Close()
	reg := sess.Registry
	token := os.Getenv(TokenEnv)
	if token == "" {
		log.Printf("intake: $%s is not set: the reviewer pages are disabled", TokenEnv)
	}
	h, err := newApp(reg, token)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute, WriteTimeout: 2 * time.Minute}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("intake: listening on http://%s/", *addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
