// Command intake is the intake web service for faceoptout requests
// (net/http and html/template, no JavaScript), as an operator deploys it:
//
//   - public forms for face opt-outs (country, reason, name, e-mail, phone,
//     face photo) and DSA image removals (country, reason, contact, source
//     URLs, optional image), with errors shown per field, upload limits
//     (exclusion.MaxPhotoBytes per photo) and CSRF protection (a signed
//     token per browser and cross-origin checks);
//   - requester verification: a request is stored as unconfirmed and mail
//     sends the requester a signed link that expires (LinkTTL); only after
//     they confirm does it reach review. Submissions are rate limited per
//     e-mail address and per client address;
//   - a case id and a status page per request, where the requester can
//     also withdraw it;
//   - a reviewer page (HTTP basic auth) listing confirmed requests with
//     each photo's frame and face boxes, quality, and a thumbnail of each
//     face (kept encrypted only until the decision), where a reviewer picks
//     a face, approves, rejects or withdraws; the requester is told by mail.
//
// Usage:
//
//	FACEOPTOUT_REVIEWER_TOKEN=secret FACEOPTOUT_INTAKE_KEY=<64 hex> FACEOPTOUT_THUMBNAIL_KEY=<64 hex> \
//	  intake --registry DIR --base-url https://optout.example.com --smtp 127.0.0.1:25 --from optout@example.com
//
// The registry is a directory made by faceoptout init or a PostgreSQL
// location (then --thumbnails DIR is needed); an encrypted registry needs
// its operator key (--key-file, else $FACEOPTOUT_KEY_FILE). Faces are
// described with the model the registry was created with (ONNX or dlib,
// read from the registry; --embedder only to insist on one), from the
// models in --models (else $FACEOPTOUT_MODELS, else ./models).
//
// --smtp sink starts an in-process mail sink that logs each message
// (confirmation links included) instead of sending it: for trying the app
// on one machine. Without the keys the app makes random ones and says so:
// links mailed and thumbnails kept then stop working at the next start.
// Thumbnails live in DIR/thumbnails (--thumbnails), encrypted; uploaded photos are never
// stored. Expired unconfirmed requests are withdrawn and outdated
// thumbnails deleted every minute.
//
// Serve it behind a TLS-terminating proxy (--trust-proxy to rate-limit by
// its X-Forwarded-For): basic auth and personal data must not cross the
// network in clear text.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/examples/internal/mailsink"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/thumbdir"
)

// Environment variables the program reads.
const (
	TokenEnv     = "FACEOPTOUT_REVIEWER_TOKEN"
	KeyEnv       = "FACEOPTOUT_INTAKE_KEY"
	ThumbnailEnv = "FACEOPTOUT_THUMBNAIL_KEY"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := mainErr(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "intake:", err)
		os.Exit(1)
	}
}

// key reads a hex key of n bytes from the environment variable env, or
// makes a random one (with a warning) when it is unset.
func key(env string, n int) ([]byte, error) {
	v := os.Getenv(env)
	if v == "" {
		log.Printf("intake: $%s is not set: using a random key until the next start", env)
		b := make([]byte, n)
		_, err := rand.Read(b)
		return b, err
	}
	b, err := hex.DecodeString(v)
	if err != nil || len(b) != n {
		return nil, fmt.Errorf("$%s: want %d hex digits", env, 2*n)
	}
	return b, nil
}

func mainErr(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("intake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	regFlag := fs.String("registry", "", "registry directory (default $"+registrydir.Env+")")
	ef := embedder.RegisterDefault(fs, os.Getenv, embedder.ONNX)
	keyFile := fs.String("key-file", "", "operator key file of an encrypted registry (default $"+registrydir.KeyFileEnv+")")
	thumbFlag := fs.String("thumbnails", "", "directory of the encrypted face thumbnails (default REGISTRY/thumbnails; needed with a PostgreSQL registry)")
	baseURL := fs.String("base-url", "", "public URL of the app, for links in mail (default http://ADDR)")
	smtpAddr := fs.String("smtp", "sink", `mail relay host:port, or "sink" to log mail instead of sending it`)
	from := fs.String("from", "optout@localhost", "sender address of the app's mail")
	trustProxy := fs.Bool("trust-proxy", false, "rate-limit clients by the last X-Forwarded-For entry")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := registrydir.Resolve(*regFlag, os.Getenv)
	if err != nil {
		return err
	}
	cfg := DefaultConfig()
	cfg.ReviewerToken = os.Getenv(TokenEnv)
	if cfg.ReviewerToken == "" {
		log.Printf("intake: $%s is not set: the reviewer pages are disabled", TokenEnv)
	}
	if cfg.Key, err = key(KeyEnv, 32); err != nil {
		return err
	}
	tkey, err := key(ThumbnailEnv, 32)
	if err != nil {
		return err
	}
	cfg.BaseURL, cfg.From, cfg.TrustProxy = *baseURL, *from, *trustProxy
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + *addr
	}

	var mailer Mailer = SMTPMailer{Addr: *smtpAddr, From: *from}
	if *smtpAddr == "sink" {
		sink, err := mailsink.Start()
		if err != nil {
			return err
		}
		defer sink.Close()
		mailer = logMailer{SMTPMailer{Addr: sink.Addr(), From: *from}}
	}

	tdir := *thumbFlag
	if tdir == "" {
		if registrydir.IsPostgres(dir) {
			return errors.New("a PostgreSQL registry needs --thumbnails DIR")
		}
		tdir = filepath.Join(dir, "thumbnails")
	}
	thumbs, err := thumbdir.New(tdir)
	if err != nil {
		return err
	}
	rcfg := exclusion.DefaultConfig()
	rcfg.Confirm = exclusion.ConfirmConfig{Required: true, Within: cfg.LinkTTL}
	rcfg.Thumbnails = exclusion.ThumbnailConfig{Store: thumbs, Key: tkey, TTL: 30 * 24 * time.Hour}
	opts := []registrydir.Option{registrydir.WithConfig(rcfg)}
	if *keyFile == "" {
		*keyFile = os.Getenv(registrydir.KeyFileEnv)
	}
	if *keyFile != "" {
		k, err := registrydir.ReadKeyFile(*keyFile)
		if err != nil {
			return err
		}
		opts = append(opts, registrydir.WithKey(k))
	}
	reg, closeReg, err := openRegistry(ctx, dir, ef, opts)
	if err != nil {
		return err
	}
	defer closeReg()

	h, err := newApp(reg, mailer, cfg)
	if err != nil {
		return err
	}
	go expireLoop(ctx, reg)
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute, WriteTimeout: 2 * time.Minute}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("intake: listening on http://%s/ (public URL %s)", *addr, cfg.BaseURL)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openRegistry opens the registry at dir (a directory made by faceoptout
// init, or a PostgreSQL location) with opts, and the embedder of the model
// its faces were enrolled with (the one --embedder names, when given:
// exclusion.Open refuses another model than the registry's, ErrModel).
// closeReg closes both.
func openRegistry(ctx context.Context, dir string, ef *embedder.Flags, opts []registrydir.Option) (reg *exclusion.Registry, closeReg func(), err error) {
	sess, err := registrydir.OpenSession(ctx, dir, ef, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("intake: %s (made by faceoptout init?): %w", dir, err)
	}
	return sess.Registry, func() { _ = sess.Close() }, nil
}

// expireLoop withdraws expired unconfirmed requests and deletes outdated
// thumbnails every minute until ctx is done.
func expireLoop(ctx context.Context, reg *exclusion.Registry) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if st, err := reg.Expire(ctx, "intake (expiry)"); err != nil {
			log.Printf("intake: expiry: %v", err)
		} else if st.Unconfirmed+st.Thumbnails > 0 {
			log.Printf("intake: expired %d unconfirmed requests, deleted the thumbnails of %d", st.Unconfirmed, st.Thumbnails)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// logMailer sends through a local sink and logs each message, for trying
// the app without a mail relay.
type logMailer struct{ SMTPMailer }

func (m logMailer) Send(ctx context.Context, mail Mail) error {
	log.Printf("intake: mail to %s: %s\n%s", mail.To, mail.Subject, mail.Body)
	return m.SMTPMailer.Send(ctx, mail)
}
