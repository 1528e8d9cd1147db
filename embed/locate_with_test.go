//go:build cgo

package embed_test

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// TestFacesBytesWithTurnsCropRetry checks which turned scans get the crop
// retry (two more scans of a small image, padded then upsampled), for the
// Dlib and for the Locator the ONNX embedder builds on: an image without
// faces scanned whole keeps it under every turn, a reduced copy of a larger
// one is scanned once per turn (BytesResult.Stats.Retries).
func TestFacesBytesWithTurnsCropRetry(t *testing.T) {
	d := newDlib(t, 80)
	cfg := embed.DefaultDlibConfig()
	cfg.ModelsDir = testenv.Models(t)
	loc, err := embed.NewLocator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = loc.Close() })
	describe := func(ctx context.Context, s embed.Scan, found []embed.Located) ([]embed.Face, error) {
		faces := make([]embed.Face, len(found))
		for i, f := range found {
			faces[i] = f.Face
		}
		return faces, nil
	}
	embedders := map[string]func(context.Context, []byte, embed.BytesOptions) (embed.BytesResult, error){
		"dlib": d.FacesBytesWith,
		"locator": func(ctx context.Context, data []byte, opts embed.BytesOptions) (embed.BytesResult, error) {
			return loc.FacesBytesWith(ctx, data, opts, describe)
		},
	}
	turns := []embed.Turn{{Degrees: 90, Reduce: 4}, {Degrees: 270, Reduce: 4}, {Degrees: 180, Reduce: 4}}
	tests := []struct {
		name        string
		w, h        int
		wantRetries int
	}{
		// 300 px: scanned whole upright and turned, each with its retry.
		{"small image scanned whole", 300, 200, 2 * (1 + len(turns))},
		// 1000 px: no retry upright (over 512 px); turned on a copy
		// reduced to 500 px, small enough for a retry but not a crop.
		{"reduced copy", 1000, 800, 0},
	}
	for _, tc := range tests {
		img := image.NewNRGBA(image.Rect(0, 0, tc.w, tc.h))
		for i := range img.Pix {
			img.Pix[i] = uint8(i*7 + i/(4*tc.w)*13) // a pattern without faces
		}
		for _, format := range []string{"jpeg", "png"} {
			var buf bytes.Buffer
			var err error
			if format == "jpeg" {
				err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
			} else {
				err = png.Encode(&buf, img)
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, facesBytesWith := range embedders {
				t.Run(tc.name+"/"+format+"/"+name, func(t *testing.T) {
					res, err := facesBytesWith(context.Background(), buf.Bytes(), embed.BytesOptions{Turns: turns})
					if err != nil {
						t.Fatal(err)
					}
					if len(res.Faces) != 0 {
						t.Skipf("the detector found %d faces in the pattern", len(res.Faces))
					}
					if res.Scans != 1+len(turns) || res.Stats.Retries != tc.wantRetries {
						t.Fatalf("%d scans with %d crop retries, want %d scans with %d", res.Scans, res.Stats.Retries, 1+len(turns), tc.wantRetries)
					}
				})
			}
		}
	}
}
