package main

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/examples/internal/mailsink"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
	"github.com/faceoptout/faceoptout/exclusion/thumbdir"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

const token = "s3cret-token"

var testKey = bytes.Repeat([]byte{7}, 32)

var (
	dlibOnce sync.Once
	dlibEmb  *embed.Dlib
	dlibErr  error
)

// realEmbedder returns one shared dlib embedder, or skips (fails under CI)
// without models.
func realEmbedder(t *testing.T) *embed.Dlib {
	t.Helper()
	dir := testenv.Models(t)
	dlibOnce.Do(func() {
		cfg := embed.DefaultDlibConfig()
		cfg.ModelsDir = dir
		cfg.Workers = 2
		dlibEmb, dlibErr = embed.NewDlib(cfg)
	})
	if dlibErr != nil {
		t.Fatal(dlibErr)
	}
	return dlibEmb
}

// env is a running intake app over a registry that requires confirmation
// and keeps thumbnails, with a mail sink.
type env struct {
	srv      *httptest.Server
	reg      *exclusion.Registry
	sink     *mailsink.Sink
	dbPath   string
	thumbDir string
	client   *http.Client // with a cookie jar
}

func newEnv(t *testing.T, emb embed.Embedder, opts ...func(*Config)) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{dbPath: filepath.Join(dir, "registry.db"), thumbDir: filepath.Join(dir, "thumbnails")}
	ts, err := thumbdir.New(e.thumbDir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Create(e.dbPath, boltstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rcfg := exclusion.DefaultConfig()
	rcfg.Confirm = exclusion.ConfirmConfig{Required: true, Within: time.Hour}
	rcfg.Thumbnails = exclusion.ThumbnailConfig{Store: ts, Key: bytes.Repeat([]byte{9}, 32)}
	e.reg, err = exclusion.Create(context.Background(), st, emb, rcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.reg.Close() })
	if e.sink, err = mailsink.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.sink.Close() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ReviewerToken, cfg.Key, cfg.From = token, testKey, "optout@test.example"
	cfg.BaseURL = "http://" + l.Addr().String()
	for _, o := range opts {
		o(&cfg)
	}
	h, err := newApp(e.reg, SMTPMailer{Addr: e.sink.Addr(), From: cfg.From}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewUnstartedServer(h)
	e.srv.Listener = l
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	jar, _ := cookiejar.New(nil)
	e.client = &http.Client{Jar: jar, CheckRedirect: e.srv.Client().CheckRedirect}
	return e
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf loads a page and returns its forms' CSRF token (the cookie goes to
// the jar).
func (e *env) csrf(t *testing.T, path string, auth bool) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if auth {
		req.SetBasicAuth("alice", token)
	}
	code, page := e.do(t, req)
	m := csrfRE.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		t.Fatalf("GET %s: %d, no CSRF token\n%s", path, code, page)
	}
	return m[1]
}

func (e *env) do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (e *env) get(t *testing.T, path string, auth bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if auth {
		req.SetBasicAuth("alice", token)
	}
	return e.do(t, req)
}

// post sends a body; auth adds the reviewer's credentials.
func (e *env) post(t *testing.T, path string, body io.Reader, ctype string, auth bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if auth {
		req.SetBasicAuth("alice", token)
	}
	return e.do(t, req)
}

// postForm sends url-encoded values.
func (e *env) postForm(t *testing.T, path string, v url.Values, auth bool) (int, string) {
	t.Helper()
	return e.post(t, path, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded", auth)
}

// submit fills in a form page (with its CSRF token) and sends it.
func (e *env) submit(t *testing.T, path string, fields map[string]string, photo []byte) (int, string) {
	t.Helper()
	f := map[string]string{"csrf": e.csrf(t, path, false)}
	for k, v := range fields {
		f[k] = v
	}
	body, ctype := multipartBody(t, f, photo)
	return e.post(t, path, body, ctype, false)
}

// multipartBody encodes fields and an optional photo.
func multipartBody(t *testing.T, fields map[string]string, photo []byte) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if photo != nil {
		fw, err := mw.CreateFormFile("photo", "me.png")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(photo); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b, mw.FormDataContentType()
}

var linkRE = regexp.MustCompile(`http://\S+/confirm\?\S+`)

// confirmLink waits for the confirmation mail to addr and returns its link.
func (e *env) confirmLink(t *testing.T, addr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := e.sink.Wait(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	l := linkRE.FindString(m.Body())
	if l == "" {
		t.Fatalf("no link in the mail:\n%s", m.Data)
	}
	return l
}

// confirm opens a confirmation link and presses the button.
func (e *env) confirm(t *testing.T, link string) (int, string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	tok := e.csrf(t, u.Path+"?"+u.RawQuery, false)
	q := u.Query()
	return e.postForm(t, "/confirm", url.Values{"csrf": {tok}, "id": {q.Get("id")}, "exp": {q.Get("exp")}, "sig": {q.Get("sig")}}, false)
}
