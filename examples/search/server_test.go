package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/examples/crawler/crawl"
	"github.com/faceoptout/faceoptout/examples/internal/exampletest"
	"github.com/faceoptout/faceoptout/exclusion"
)

// local starts an httptest server on 127.0.0.1 only.
func local(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestSearch(t *testing.T) {
	reg, emb := exampletest.Registry(t)
	images := map[string][]byte{
		"/beach/anna-beach.png":   exampletest.Photo(1),
		"/beach/bob-beach.png":    exampletest.Photo(2),
		"/beach/group-beach.png":  exampletest.Photo(2, 3),
		"/beach/broken-beach.png": []byte("not an image"),
		"/city/anna-city.png":     exampletest.Photo(1, 3),
		"/city/poster.png":        exampletest.PNG(exampletest.Pattern(300, 200, 3)),
	}
	img := local(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := images[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	// The corpus: the crawler's index file, plus a folder.
	dir := t.TempDir()
	idx := &crawl.Index{}
	for p := range images {
		if err := idx.Add(crawl.Result{Source: crawl.Source{URL: img.URL + p}, Verdict: exclusion.Allow}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.Save(filepath.Join(dir, "index.json")); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "photos")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, "anna-garden.png"), exampletest.Photo(1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, "carl-garden.png"), exampletest.Photo(4), 0o600); err != nil {
		t.Fatal(err)
	}
	fromIndex, err := loadCorpus(filepath.Join(dir, "index.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	fromDir, err := loadCorpus("", folder)
	if err != nil {
		t.Fatal(err)
	}
	h, err := newServer(exampletest.Filter(t, reg, emb), append(fromIndex, fromDir...))
	if err != nil {
		t.Fatal(err)
	}
	srv := local(t, h)

	get := func(t *testing.T, query string) (int, Response) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/search?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r Response
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, r
	}
	names := func(r Response) []string {
		var out []string
		for _, h := range r.Results {
			out = append(out, filepath.Base(h.Source.String()))
		}
		slices.Sort(out)
		return out
	}

	optOut := ""
	tests := []struct {
		name   string
		before func(t *testing.T)
		query  string
		code   int
		want   []string
		report exclusion.FilterReport
		count  int // when > 0: only the number of results is checked
	}{
		{name: "nothing opted out yet; the broken image is dropped", query: "q=beach", code: 200,
			want:   []string{"anna-beach.png", "bob-beach.png", "group-beach.png"},
			report: exclusion.FilterReport{Checked: 4, Kept: 3, Unchecked: 1}},
		{name: "anna opts out", before: func(t *testing.T) { optOut = exampletest.OptOut(t, reg, 1) }, query: "q=beach", code: 200,
			want:   []string{"bob-beach.png", "group-beach.png"},
			report: exclusion.FilterReport{Checked: 4, Kept: 2, Blocked: 1, Unchecked: 1}},
		{name: "anna in a group, and in the folder", query: "q=anna", code: 200,
			want:   nil,
			report: exclusion.FilterReport{Checked: 3, Blocked: 3}},
		{name: "folder corpus", query: "q=garden", code: 200, want: []string{"carl-garden.png"},
			report: exclusion.FilterReport{Checked: 2, Kept: 1, Blocked: 1}},
		{name: "removed URL", before: func(t *testing.T) { exampletest.Removal(t, reg, nil, img.URL+"/city/poster.png") }, query: "q=poster", code: 200,
			want: nil, report: exclusion.FilterReport{Checked: 1, Blocked: 1}},
		{name: "anna withdraws", before: func(t *testing.T) {
			if _, err := reg.Withdraw(context.Background(), optOut, "anna", ""); err != nil {
				t.Fatal(err)
			}
		}, query: "q=anna", code: 200,
			want:   []string{"anna-beach.png", "anna-city.png", "anna-garden.png"},
			report: exclusion.FilterReport{Checked: 3, Kept: 3}},
		{name: "n limits the results", query: "q=beach&n=1", code: 200, count: 1},
		{name: "no query", query: "q=", code: 400},
		{name: "bad n", query: "q=beach&n=0", code: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before(t)
			}
			code, r := get(t, tc.query)
			if code != tc.code {
				t.Fatalf("status %d, want %d", code, tc.code)
			}
			if code != 200 {
				return
			}
			if tc.count > 0 {
				if len(r.Results) != tc.count || r.Filter.Checked > tc.count*overfetch {
					t.Errorf("%d results after checking %d, want %d after at most %d", len(r.Results), r.Filter.Checked, tc.count, tc.count*overfetch)
				}
				return
			}
			if got := names(r); !slices.Equal(got, tc.want) {
				t.Errorf("results %v, want %v", got, tc.want)
			}
			if r.Filter != tc.report {
				t.Errorf("filter report %+v, want %+v", r.Filter, tc.report)
			}
		})
	}
}
