package main

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/faceoptout/faceoptout/examples/crawler/crawl"
	"github.com/faceoptout/faceoptout/exclusion"
)

// Limits of one query.
const (
	defaultResults = 10
	maxResults     = 50
	// overfetch bounds the candidates checked per result shown, since the
	// Filter may drop some.
	overfetch = 3
	// maxQueryLen bounds q.
	maxQueryLen = 200
)

// doc is one image of the corpus with the words of its URL or path.
type doc struct {
	src   crawl.Source
	words map[string]bool
}

// server answers GET /search. It is safe for concurrent use.
type server struct {
	filter *exclusion.Filter
	reader *crawl.Crawler // reads images for the Filter
	docs   []doc
}

// newServer returns the search handler over docs.
func newServer(f *exclusion.Filter, srcs []crawl.Source) (http.Handler, error) {
	c, err := crawl.New(f, crawl.DefaultConfig())
	if err != nil {
		return nil, err
	}
	s := &server{filter: f, reader: c}
	for _, src := range srcs {
		d := doc{src: src, words: map[string]bool{}}
		for _, w := range words(src.String()) {
			d.words[w] = true
		}
		s.docs = append(s.docs, d)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /search", s.search)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux, nil
}

// words splits s into lower-case words of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// Hit is one search result.
type Hit struct {
	Source crawl.Source `json:"source"`
	Score  int          `json:"score"`
}

// Response is the JSON answer of /search.
type Response struct {
	Query   string                 `json:"query"`
	Results []Hit                  `json:"results"`
	Filter  exclusion.FilterReport `json:"filter"`
}

func (s *server) search(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || len(q) > maxQueryLen {
		httpError(w, http.StatusBadRequest, "q: give 1 to 200 characters")
		return
	}
	n := defaultResults
	if v := r.URL.Query().Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > maxResults {
			httpError(w, http.StatusBadRequest, "n: give 1 to 50")
			return
		}
	}
	var hits []Hit
	for _, d := range s.docs {
		score := 0
		for _, qw := range words(q) {
			if d.words[qw] {
				score++
			}
		}
		if score > 0 {
			hits = append(hits, Hit{Source: d.src, Score: score})
		}
	}
	slices.SortStableFunc(hits, func(a, b Hit) int { return cmp.Compare(b.Score, a.Score) })
	hits = hits[:min(len(hits), n*overfetch)]

	kept, rep := s.filterHits(r.Context(), hits)
	resp := Response{Query: q, Results: kept[:min(len(kept), n)], Filter: rep}
	if resp.Results == nil {
		resp.Results = []Hit{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(resp)
}

// filterHits reads each hit's image (2 at a time) and keeps only those the
// Filter allows. An image that cannot be read is passed without image or
// faces, so the Filter answers Unchecked and it is dropped.
func (s *server) filterHits(ctx context.Context, hits []Hit) ([]Hit, exclusion.FilterReport) {
	items := make([]exclusion.Item, len(hits))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, h := range hits {
		items[i] = exclusion.Item{Key: strconv.Itoa(i), URL: h.Source.URL}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if b, err := s.reader.Read(ctx, h.Source); err == nil {
				items[i].Image = b
			}
		}()
	}
	wg.Wait()
	keptItems, rep := s.filter.FilterResults(ctx, items)
	kept := make([]Hit, 0, len(keptItems))
	for _, it := range keptItems {
		i, err := strconv.Atoi(it.Key)
		if err != nil || i < 0 || i >= len(hits) {
			continue // cannot happen; never show what was not checked
		}
		kept = append(kept, hits[i])
	}
	return kept, rep
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
