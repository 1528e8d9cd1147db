//go:build cgo

package isolate_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// BenchmarkFilterDlib measures what a worker Pool costs the exclusion
// Filter per image: the same Filter (one approved face) over a direct
// embed.Dlib of one worker (the baseline) and over a one-worker Pool of
// embed.Dlib processes, on photos of testdata/bbt (JPEG group photos and
// PNG portraits). Both decode, look and scan with Dlib's FacesBytesWith;
// the Pool adds the file and the look image through the pipes, the reply
// and the gob framing.
//
//	go test -run '^$' -bench FilterDlib -benchtime 10x ./embed/isolate/
func BenchmarkFilterDlib(b *testing.B) {
	dir := testenv.Models(b)
	bbt := testenv.BBT(b)
	ctx := context.Background()
	direct, err := newTestDlib(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	cfg := testConfig("dlib")
	cfg.Timeout = time.Minute
	p := newPool(b, cfg)
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(bbt, name))
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), direct, exclusion.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	req, err := reg.Submit(ctx, &exclusion.Submission{
		Kind: exclusion.FaceOptOut, Country: "NL", Reason: "r", Name: "Amy", Email: "amy@example.nl",
		Phone: "+31612345678", Photos: []exclusion.Photo{{Data: read("amy/amy1.png")}},
	}, "t")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := reg.Approve(ctx, req.ID, "t", ""); err != nil {
		b.Fatal(err)
	}
	for _, img := range []string{"bbt1.jpg", "bbt3.jpg", "amy/amy2.png", "penny/penny1.png"} {
		data := read(img)
		for _, e := range []struct {
			name string
			emb  embed.Embedder
		}{{"direct", direct}, {"pool", p}} {
			f, err := exclusion.NewFilter(reg, e.emb, exclusion.DefaultFilterConfig())
			if err != nil {
				b.Fatal(err)
			}
			b.Run(filepath.Base(img)+"/"+e.name, func(b *testing.B) {
				for b.Loop() {
					if d := f.CheckImageBytes(ctx, data); d.Verdict == exclusion.Unchecked {
						b.Fatal(d.Err)
					}
				}
			})
		}
	}
}
