//go:build gofacebaseline

package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// TestGoFaceReference runs plain go-face, the reference embedder, on the
// bbt group photos and checks that embed's full-size scan (MinFaceSize 80,
// no crop retry: go-face's own scan) finds every face go-face finds, with
// descriptors within 0.02 of go-face's (they share dlib's code and models;
// the two JPEG decoders may differ by rounding).
func TestGoFaceReference(t *testing.T) {
	const tolerance = 0.02
	models, bbt := testenv.Models(t), testenv.BBT(t)
	files, err := filepath.Glob(filepath.Join(bbt, "bbt*.jpg"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no group photos in %s: %v", bbt, err)
	}
	ctx := context.Background()
	ref, err := goFaceBaseline(ctx, files, models, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ref.errs > 0 || count(ref) == 0 {
		t.Fatalf("go-face: %d errors, %d faces", ref.errs, count(ref))
	}
	cfg := embed.DefaultDlibConfig()
	cfg.ModelsDir, cfg.Workers, cfg.NoCropRetry = models, 2, true
	d, err := embed.NewDlib(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ours, err := runPipeline(ctx, "embed", files, 2, func(ctx context.Context, file string) ([]benchFace, error) {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		faces, err := d.FacesBytes(ctx, data)
		out := make([]benchFace, len(faces))
		for i, f := range faces {
			out[i] = benchFace{f.Box, f.Descriptor}
		}
		return out, err
	})
	if err != nil || ours.errs > 0 {
		t.Fatalf("embed: %v, %d errors", err, ours.errs)
	}
	found, total, dists := agree(ref, ours)
	if found != total {
		t.Errorf("embed found %d of go-face's %d faces; missed %v", found, total, missedFaces(ref, ours, files))
	}
	for i, dist := range dists {
		if dist > tolerance {
			t.Errorf("face %d: descriptor %.4f from go-face's (tolerance %.2f)", i, dist, tolerance)
		}
	}
	t.Logf("%d photos, go-face %d faces, embed %d; max distance %.4f", len(files), total, count(ours), quantile(dists, 1))
}
