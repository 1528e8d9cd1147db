//go:build cgo

package isolate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/imageutil"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// TestFilterOverDlibPool runs the exclusion Filter over a Pool of real
// embed.Dlib workers, which decode, look and scan through FacesBytesWith:
// on real photos it gives the verdicts (faces, rotations, image matches)
// of the same Filter over a direct embed.Dlib; a removed image re-encoded
// is blocked by its perceptual hash taken from the look image the worker
// sends back; a worker whose decode hangs is killed at the Filter's
// deadline, the image answers Unchecked, and the next check is answered by
// a new worker.
func TestFilterOverDlibPool(t *testing.T) {
	dir := testenv.Models(t)
	bbt := testenv.BBT(t)
	ctx := context.Background()
	direct, err := newTestDlib(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	cfg := testConfig("dlib")
	cfg.Timeout = time.Minute
	p := newPool(t, cfg)
	if p.Model() != direct.Model() {
		t.Fatalf("pool model %v, direct %v", p.Model(), direct.Model())
	}

	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(bbt, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	decode := func(data []byte) *image.NRGBA {
		m, err := imageutil.DecodeBytes(data)
		if err != nil {
			t.Fatal(err)
		}
		return m.RGB
	}
	jpegOf := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 88}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}

	reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), direct, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	removed := read("leonard/leonard1.png")
	for _, s := range []*exclusion.Submission{
		{Kind: exclusion.FaceOptOut, Country: "NL", Reason: "r", Name: "Amy", Email: "amy@example.nl",
			Phone: "+31612345678", Photos: []exclusion.Photo{{Data: read("amy/amy1.png")}}},
		{Kind: exclusion.ImageRemoval, Country: "FR", Reason: "DSA notice", Name: "Leonard", Email: "l@example.fr",
			Phone: "+33612345678", URLs: []string{"https://example.org/leonard1.png"}, Photos: []exclusion.Photo{{Data: removed}}},
	} {
		req, err := reg.Submit(ctx, s, "t")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Approve(ctx, req.ID, "t", ""); err != nil {
			t.Fatal(err)
		}
	}
	fDirect, err := exclusion.NewFilter(reg, direct, exclusion.DefaultFilterConfig())
	if err != nil {
		t.Fatal(err)
	}
	fPool, err := exclusion.NewFilter(reg, p, exclusion.DefaultFilterConfig())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		data []byte
		want exclusion.Verdict // NoVerdict: whatever the direct Filter says
	}{
		{"amy2.png", read("amy/amy2.png"), exclusion.Block},
		{"amy4.png", read("amy/amy4.png"), exclusion.Block},
		{"amy3 sideways", exclusiontest.PNG(imageutil.Orient(decode(read("amy/amy3.png")), 6)), exclusion.Block},
		{"penny1.png", read("penny/penny1.png"), exclusion.Allow},
		{"sheldon2.png", read("sheldon/sheldon2.png"), exclusion.Allow},
		{"bbt1.jpg", read("bbt1.jpg"), -1},
		{"bbt3.jpg", read("bbt3.jpg"), -1},
		{"removed image re-encoded", jpegOf(decode(removed)), exclusion.Block},
		{"not an image", []byte("<!doctype html>"), exclusion.Unchecked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dd := fDirect.CheckImageBytes(ctx, tt.data)
			dp := fPool.CheckImageBytes(ctx, tt.data)
			t.Logf("direct %v %s, pool %v %s (%v)", dd.Verdict, summary(dd), dp.Verdict, summary(dp), dp.Err)
			if dp.Verdict != dd.Verdict || summary(dp) != summary(dd) {
				t.Fatalf("pool %v %s (%v), direct %v %s (%v)", dp.Verdict, summary(dp), dp.Err, dd.Verdict, summary(dd), dd.Err)
			}
			if tt.want >= 0 && dp.Verdict != tt.want {
				t.Fatalf("verdict %v (%v), want %v", dp.Verdict, dp.Err, tt.want)
			}
		})
	}
	if d := fPool.CheckImageBytes(ctx, jpegOf(decode(removed))); !slices.ContainsFunc(d.Images, func(m exclusion.ImageMatch) bool { return m.By == exclusion.MatchPHash }) {
		t.Fatalf("re-encoded removed image: %v %+v, want a perceptual-hash match", d.Verdict, d.Images)
	}
	// Enlarged 4 times as a PNG, the removed image's look crosses the pipe
	// shrunk back (embed.LookShrink); its perceptual hash still matches, within
	// 2 bits of the direct Filter's distance.
	enlarged := exclusiontest.PNG(imageutil.Resize(decode(removed), 600, 600))
	phashOf := func(d exclusion.Decision) int {
		for _, m := range d.Images {
			if m.By == exclusion.MatchPHash {
				return m.Distance
			}
		}
		return -1
	}
	dd, dp := fDirect.CheckImageBytes(ctx, enlarged), fPool.CheckImageBytes(ctx, enlarged)
	if dp.Verdict != exclusion.Block || phashOf(dp) < 0 || phashOf(dd) < 0 || max(phashOf(dp)-phashOf(dd), phashOf(dd)-phashOf(dp)) > 2 {
		t.Fatalf("enlarged removed image: pool %v %+v, direct %v %+v: want both blocked by perceptual hashes within 2 bits", dp.Verdict, dp.Images, dd.Verdict, dd.Images)
	}

	t.Run("decode hangs", func(t *testing.T) {
		fc := exclusion.DefaultFilterConfig()
		fc.Timeout = 3 * time.Second
		f, err := exclusion.NewFilter(reg, p, fc)
		if err != nil {
			t.Fatal(err)
		}
		stuck := append(read("penny/penny2.png"), hangMarker...)
		d := f.CheckImageBytes(ctx, stuck)
		if d.Verdict != exclusion.Unchecked || !errors.Is(d.Err, context.DeadlineExceeded) {
			t.Fatalf("verdict %v (%v), want Unchecked at the deadline", d.Verdict, d.Err)
		}
		// One worker: the next check is answered only if the stuck one was
		// killed and replaced.
		if d := fPool.CheckImageBytes(ctx, read("amy/amy5.png")); d.Verdict != exclusion.Block {
			t.Fatalf("next check: %v (%v), want Block", d.Verdict, d.Err)
		}
	})
}

// summary is what a Decision found, for comparing two of them: each face's
// verdict, rotation and box, each image match's kind and distance.
func summary(d exclusion.Decision) string {
	var b bytes.Buffer
	for _, fc := range d.Faces {
		fmt.Fprintf(&b, "face(%v,%d°,%v) ", fc.Verdict, fc.Rotation, fc.Box)
	}
	for _, m := range d.Images {
		fmt.Fprintf(&b, "image(%s,%d) ", m.By, m.Distance)
	}
	return b.String()
}
