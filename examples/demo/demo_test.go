package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/faceoptout/faceoptout/examples/internal/exampletest"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// verdictOf returns the verdict printed for an image path in the table.
func verdictOf(out, path string) string {
	m := regexp.MustCompile(`(?m)^(ALLOW|BLOCK|REVIEW|UNCHECKED)\s+` + regexp.QuoteMeta(path) + `\s`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestSynthetic(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), options{Embedder: exampletest.Embedder(), Workers: 2, Dir: filepath.Join(t.TempDir(), "reg")}, &out)
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	t.Log("\n" + s)
	tests := []struct {
		name, path, verdict string
	}{
		{"removed URL", "/news/poster.png", "BLOCK"},
		{"re-encoded resized copy", "/mirror/poster-small.jpg", "BLOCK"},
		{"same bytes at another URL", "/cdn/poster-copy.png", "BLOCK"},
		{"other image", "/blog/landscape.png", "ALLOW"},
		{"broken image", "/broken.jpg", "UNCHECKED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := verdictOf(s, tc.path); got != tc.verdict {
				t.Errorf("%s: %q, want %s", tc.path, got, tc.verdict)
			}
		})
	}
	for _, want := range []string{"SYNTHETIC", "perceptual hash", "/mirror/poster-small.jpg       BLOCK -> ALLOW", "withdraw"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestRealFaces runs the demo as make demo does (about a minute on 2 cores),
// on testdata/bbt when ../shared is absent.
func TestRealFaces(t *testing.T) {
	if testing.Short() && !testenv.CI() {
		t.Skip("-short: the full demo takes about a minute")
	}
	models, faces := testenv.Models(t), testenv.BBT(t)
	d, emb, err := registrydir.NewDlib(models, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var out bytes.Buffer
	err = run(context.Background(), options{Embedder: emb, BBTDir: faces, Workers: 2, Dir: filepath.Join(t.TempDir(), "reg")}, &out)
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	t.Log("\n" + s)
	tests := []struct {
		name, path, verdict string
	}{
		{"opted-out person, other photo", "/bbt/sheldon/sheldon2.png", "BLOCK"},
		{"opted-out person, other photo 2", "/bbt/penny/penny2.png", "BLOCK"},
		{"stranger howard", "/bbt/howard/howard1.png", "ALLOW"},
		{"stranger raj", "/bbt/raj/raj1.png", "ALLOW"},
		{"stranger stuart", "/bbt/stuart/stuart1.png", "ALLOW"},
		{"group photo 1", "/bbt/bbt1.jpg", "BLOCK"},
		{"group photo 2", "/bbt/bbt2.jpg", "BLOCK"},
		{"group photo 3", "/bbt/bbt3.jpg", "BLOCK"},
		{"group photo 4", "/bbt/bbt4.jpg", "BLOCK"},
		{"group photo 5", "/bbt/bbt5.jpg", "BLOCK"},
		{"re-encoded opt-out photo", "/variants/penny1-q60.jpg", "BLOCK"},
		{"re-encoded removed image", "/mirror/poster-small.jpg", "BLOCK"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := verdictOf(s, tc.path); got != tc.verdict {
				t.Errorf("%s: %q, want %s", tc.path, got, tc.verdict)
			}
		})
	}
	if !strings.Contains(s, "/bbt/sheldon/sheldon2.png      BLOCK -> ALLOW") {
		t.Errorf("withdrawing sheldon did not allow his photo again")
	}
}
