package crawl_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/examples/crawler/crawl"
	"github.com/faceoptout/faceoptout/exclusion"
)

func ExampleCount() {
	results := []crawl.Result{
		{Verdict: exclusion.Allow}, {Verdict: exclusion.Block}, {Verdict: exclusion.Block}, {}, // the zero Verdict is Unchecked
	}
	fmt.Println(crawl.Count(results))
	// Output: allowed 1, blocked 2, review 0, unchecked 1 (of 4)
}

func TestIndexRefusesNotAllowed(t *testing.T) {
	tests := []struct {
		name    string
		verdict exclusion.Verdict
		ok      bool
	}{
		{"allow", exclusion.Allow, true},
		{"block", exclusion.Block, false},
		{"review", exclusion.Review, false},
		{"unchecked", exclusion.Unchecked, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var idx crawl.Index
			err := idx.Add(crawl.Result{Source: crawl.Source{Path: "x.png"}, Verdict: tc.verdict}, time.Now())
			if (err == nil) != tc.ok || idx.Len() != map[bool]int{true: 1, false: 0}[tc.ok] {
				t.Errorf("Add(%s): %v, %d entries", tc.verdict, err, idx.Len())
			}
		})
	}
}

func TestIndexRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "index.json")
	var idx crawl.Index
	for _, s := range []string{"a.png", "b.png", "a.png"} {
		if err := idx.Add(crawl.Result{Source: crawl.Source{Path: s}, Verdict: exclusion.Allow, Bytes: 3}, time.Unix(0, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.Save(p); err != nil {
		t.Fatal(err)
	}
	got, err := crawl.LoadIndex(p)
	if err != nil {
		t.Fatal(err)
	}
	if e := got.Entries(); len(e) != 2 || e[0].Source.Path != "b.png" || e[1].Source.Path != "a.png" {
		t.Errorf("entries %+v", e)
	}
	if !got.Remove(crawl.Source{Path: "a.png"}) || got.Len() != 1 {
		t.Errorf("Remove")
	}
}

// FuzzLoadIndex: any file content loads or fails with an error, never a panic.
func FuzzLoadIndex(f *testing.F) {
	f.Add([]byte(`{"format":"faceoptout-example-index/1","entries":[{"source":{"url":"http://x/"},"bytes":1}]}`))
	f.Add([]byte(`{"format":"other"}`))
	f.Add([]byte(`{`))
	f.Add([]byte{})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "index.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		idx, err := crawl.LoadIndex(p)
		if err == nil && idx == nil {
			t.Fatal("nil index without error")
		}
	})
}
