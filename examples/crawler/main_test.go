package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"github.com/faceoptout/faceoptout/examples/crawler/crawl"
	"github.com/faceoptout/faceoptout/examples/internal/exampletest"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// server serves files from a map on 127.0.0.1 only, counting requests per
// path.
type server struct {
	*httptest.Server
	hits  map[string]*atomic.Int64
	files map[string][]byte
}

func newServer(t *testing.T, files map[string][]byte) *server {
	t.Helper()
	s := &server{hits: map[string]*atomic.Int64{}, files: files}
	mux := http.NewServeMux()
	for p := range files {
		s.hits[p] = &atomic.Int64{}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if h := s.hits[r.URL.Path]; h != nil {
			h.Add(1)
		}
		switch r.URL.Path {
		case "/slow.png":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		case "/redirect.png":
			http.Redirect(w, r, "/removed.png", http.StatusFound)
			return
		case "/huge.png":
			w.Header().Set("Content-Type", "image/png")
			chunk := bytes.Repeat([]byte{0}, 1<<16)
			for range 64 { // 4 MiB, no Content-Length
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			return
		}
		b, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	})
	s.Server = httptest.NewUnstartedServer(mux)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	reg, emb := exampletest.Registry(t)
	removed := exampletest.Pattern(320, 240, 1)
	removedPNG := exampletest.PNG(removed)
	srv := newServer(t, map[string][]byte{
		"/removed.png":      removedPNG,
		"/copy.jpg":         exampletest.JPEG(imaging.Resize(removed, 200, 0, imaging.Lanczos), 80),
		"/other.png":        exampletest.PNG(exampletest.Pattern(320, 240, 7)),
		"/optedout.png":     exampletest.PNG(exclusiontest.Image(300, 200, exampletest.Face(1, 150, 60))),
		"/group.png":        exampletest.Photo(2, 1, 3),
		"/friends.png":      exampletest.Photo(2, 3),
		"/notanimage.png":   []byte("<html>hello</html>"),
		"/optedout-dup.png": exampletest.Photo(1),
	})
	optOut := exampletest.OptOut(t, reg, 1)
	removal := exampletest.Removal(t, reg, removedPNG, srv.URL+"/removed.png")
	f := exampletest.Filter(t, reg, emb)

	dir := t.TempDir()
	local := filepath.Join(dir, "photos")
	if err := os.Mkdir(local, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"a-friends.png": exampletest.Photo(3), "b-optedout.png": exampletest.Photo(3, 1), "notes.txt": []byte("x")} {
		if err := os.WriteFile(filepath.Join(local, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name    string
		source  string
		verdict exclusion.Verdict
		ids     []string
		why     string // substring of the reason
		err     error  // for Unchecked
	}{
		{name: "removed URL is blocked before fetching", source: srv.URL + "/removed.png", verdict: exclusion.Block, ids: []string{removal}, why: "URL removed"},
		{name: "resized JPEG copy at another URL", source: srv.URL + "/copy.jpg", verdict: exclusion.Block, ids: []string{removal}, why: "perceptual hash"},
		{name: "unrelated image", source: srv.URL + "/other.png", verdict: exclusion.Allow, why: "no match"},
		{name: "opted-out face", source: srv.URL + "/optedout.png", verdict: exclusion.Block, ids: []string{optOut}, why: "distance 0.000 <= 0.60"},
		{name: "opted-out face in a group", source: srv.URL + "/group.png", verdict: exclusion.Block, ids: []string{optOut}, why: "face at"},
		{name: "other people", source: srv.URL + "/friends.png", verdict: exclusion.Allow, why: "no match (2 faces checked)"},
		{name: "redirect to a removed URL", source: srv.URL + "/redirect.png", verdict: exclusion.Block, ids: []string{removal}, why: "after redirect"},
		{name: "not an image", source: srv.URL + "/notanimage.png", verdict: exclusion.Unchecked, err: exclusion.ErrUnchecked},
		{name: "404", source: srv.URL + "/missing.png", verdict: exclusion.Unchecked, err: crawl.ErrFetch, why: "404"},
		{name: "body over the size limit", source: srv.URL + "/huge.png", verdict: exclusion.Unchecked, err: crawl.ErrTooLarge},
		{name: "timeout", source: srv.URL + "/slow.png", verdict: exclusion.Unchecked, err: crawl.ErrFetch},
		{name: "not http", source: "ftp://127.0.0.1/x.png", verdict: exclusion.Unchecked},
		{name: "local file, other person", source: filepath.Join(local, "a-friends.png"), verdict: exclusion.Allow},
		{name: "local file, opted out", source: filepath.Join(local, "b-optedout.png"), verdict: exclusion.Block, ids: []string{optOut}},
		{name: "missing local file", source: filepath.Join(local, "nope.png"), verdict: exclusion.Unchecked, err: os.ErrNotExist},
	}
	var srcs []crawl.Source
	for _, tc := range tests {
		if strings.Contains(tc.source, "://") {
			srcs = append(srcs, crawl.Source{URL: tc.source})
		} else {
			srcs = append(srcs, crawl.Source{Path: tc.source})
		}
	}
	cfg := config{Filter: f, Sources: srcs, Crawl: crawl.DefaultConfig(), IndexPath: filepath.Join(dir, "index.json")}
	cfg.Crawl.MaxBytes = 1 << 20
	cfg.Crawl.FetchTimeout = 500 * time.Millisecond
	var out bytes.Buffer
	results, err := run(ctx, cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if len(results) != len(tests) {
		t.Fatalf("%d results for %d sources", len(results), len(tests))
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := results[i]
			if r.Source.String() != tc.source {
				t.Fatalf("result %d is for %s, want %s", i, r.Source, tc.source)
			}
			if r.Verdict != tc.verdict {
				t.Fatalf("verdict %s (%s), want %s", r.Verdict, r.Reason, tc.verdict)
			}
			if strings.Join(r.RequestIDs, ",") != strings.Join(tc.ids, ",") {
				t.Errorf("request ids %v, want %v", r.RequestIDs, tc.ids)
			}
			if !strings.Contains(r.Reason, tc.why) {
				t.Errorf("reason %q does not say %q", r.Reason, tc.why)
			}
			if tc.verdict == exclusion.Unchecked && r.Err == nil {
				t.Errorf("unchecked without an error")
			}
			if tc.err != nil && !errors.Is(r.Err, tc.err) {
				t.Errorf("error %v, want %v", r.Err, tc.err)
			}
			if !strings.Contains(out.String(), tc.source) {
				t.Errorf("the summary has no line for %s", tc.source)
			}
		})
	}
	if n := srv.hits["/removed.png"].Load(); n != 0 {
		t.Errorf("the removed URL was fetched %d times", n)
	}
	if !strings.Contains(out.String(), "totals: allowed 3, blocked 6, review 0, unchecked 6 (of 15)") {
		t.Errorf("totals missing or wrong:\n%s", out.String())
	}

	// The index holds exactly the allowed images, and nothing about faces.
	idx, err := crawl.LoadIndex(cfg.IndexPath)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range idx.Entries() {
		got = append(got, e.Source.String())
	}
	want := []string{srv.URL + "/other.png", srv.URL + "/friends.png", filepath.Join(local, "a-friends.png")}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("index %v, want %v", got, want)
	}
	raw, err := os.ReadFile(cfg.IndexPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"descriptor", "box", "distance", "optedout", "request"} {
		if bytes.Contains(raw, []byte(bad)) {
			t.Errorf("index file mentions %q:\n%s", bad, raw)
		}
	}
}

// TestReindexDropsNewlyBlocked: an image allowed by one crawl and blocked by
// a later one (after an approval) leaves the index.
func TestReindexDropsNewlyBlocked(t *testing.T) {
	ctx := context.Background()
	reg, emb := exampletest.Registry(t)
	srv := newServer(t, map[string][]byte{"/p2.png": exampletest.Photo(2)})
	f := exampletest.Filter(t, reg, emb)
	cfg := config{Filter: f, Sources: []crawl.Source{{URL: srv.URL + "/p2.png"}}, Crawl: crawl.DefaultConfig(), IndexPath: filepath.Join(t.TempDir(), "index.json")}
	var out bytes.Buffer
	if _, err := run(ctx, cfg, &out); err != nil {
		t.Fatal(err)
	}
	exampletest.OptOut(t, reg, 2)
	if _, err := run(ctx, cfg, &out); err != nil {
		t.Fatal(err)
	}
	idx, err := crawl.LoadIndex(cfg.IndexPath)
	if err != nil {
		t.Fatal(err)
	}
	if idx.Len() != 0 {
		t.Errorf("index still holds %v", idx.Entries())
	}
}

func TestCancelled(t *testing.T) {
	reg, emb := exampletest.Registry(t)
	srv := newServer(t, map[string][]byte{"/a.png": exampletest.Photo(2), "/b.png": exampletest.Photo(3)})
	f := exampletest.Filter(t, reg, emb)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := config{Filter: f, Sources: []crawl.Source{{URL: srv.URL + "/a.png"}, {URL: srv.URL + "/b.png"}}, Crawl: crawl.DefaultConfig(), JSON: true}
	var out bytes.Buffer
	results, err := run(ctx, cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Verdict != exclusion.Unchecked || !errors.Is(r.Err, context.Canceled) {
			t.Errorf("%s: %s (%v), want unchecked: context canceled", r.Source, r.Verdict, r.Err)
		}
	}
	dec := json.NewDecoder(&out)
	for range results {
		var line struct {
			Verdict exclusion.Verdict `json:"verdict"`
			Error   string            `json:"error"`
		}
		if err := dec.Decode(&line); err != nil {
			t.Fatal(err)
		}
		if line.Verdict != exclusion.Unchecked || line.Error == "" {
			t.Errorf("JSON line %+v", line)
		}
	}
}

func TestNewConfig(t *testing.T) {
	reg, emb := exampletest.Registry(t)
	f := exampletest.Filter(t, reg, emb)
	tests := []struct {
		name string
		edit func(*crawl.Config)
	}{
		{"negative workers", func(c *crawl.Config) { c.Workers = -1 }},
		{"negative timeout", func(c *crawl.Config) { c.FetchTimeout = -1 }},
		{"negative size", func(c *crawl.Config) { c.MaxBytes = -1 }},
		{"negative redirects", func(c *crawl.Config) { c.MaxRedirects = -1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := crawl.DefaultConfig()
			tc.edit(&cfg)
			if _, err := crawl.New(f, cfg); !errors.Is(err, crawl.ErrConfig) {
				t.Errorf("New: %v, want ErrConfig", err)
			}
		})
	}
	if _, err := crawl.New(f, crawl.Config{}); err != nil {
		t.Errorf("New with the zero Config (the defaults): %v", err)
	}
	if _, err := crawl.New(nil, crawl.DefaultConfig()); !errors.Is(err, crawl.ErrConfig) {
		t.Errorf("New(nil filter): %v", err)
	}
}

func TestSources(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.JPG", "a.png", "c.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := crawl.Sources("https://example.org/x.jpg", dir, "file.png")
	if err != nil {
		t.Fatal(err)
	}
	want := []crawl.Source{{URL: "https://example.org/x.jpg"}, {Path: filepath.Join(dir, "a.png")}, {Path: filepath.Join(dir, "b.JPG")}, {Path: "file.png"}}
	if len(got) != len(want) {
		t.Fatalf("Sources = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("source %d = %v, want %v", i, got[i], want[i])
		}
	}
}
