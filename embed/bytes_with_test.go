package embed_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/imageutil"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// turnOrientation is the EXIF orientation that turns an image clockwise by
// deg.
func turnOrientation(deg int) int { return map[int]int{0: 1, 90: 6, 180: 3, 270: 8}[deg] }

// TestFacesBytesWithTurns turns photos (EXIF-less, as a sideways upload
// is) by 90, 180 and 270 degrees and checks that FacesBytesWith finds their
// faces under the turn that makes them upright, with boxes where the
// upright face lies in the turned image and descriptors near the upright
// ones, for JPEG (decoded turned in the worker) and PNG (reduced turned
// copies).
func TestFacesBytesWithTurns(t *testing.T) {
	d := newDlib(t, 80)
	turns := []embed.Turn{{Degrees: 90, Reduce: 2}, {Degrees: 270, Reduce: 2}, {Degrees: 180, Reduce: 2}}
	matched, cases := 0, 0
	for _, name := range []string{"idols/chaeyeon.jpg", "bbt/sheldon/sheldon1.png"} {
		img := decodeFile(t, facesPath(t, name))
		up, err := d.Faces(context.Background(), img)
		if err != nil || len(up) == 0 {
			t.Fatalf("%s upright: %d faces, %v", name, len(up), err)
		}
		upFace, _ := embed.Largest(up)
		for _, k := range []int{90, 180, 270} {
			turned := imageutil.Orient(img, turnOrientation(k))
			want := (360 - k) % 360
			wantBox := embed.UnturnBox(upFace.Box, turned.Rect.Size(), want)
			for _, format := range []string{"jpeg", "png"} {
				cases++
				t.Run(fmt.Sprintf("%s/%d/%s", name, k, format), func(t *testing.T) {
					var buf bytes.Buffer
					if format == "jpeg" {
						err = jpeg.Encode(&buf, turned, &jpeg.Options{Quality: 92})
					} else {
						err = png.Encode(&buf, turned)
					}
					if err != nil {
						t.Fatal(err)
					}
					res, err := d.FacesBytesWith(context.Background(), buf.Bytes(), embed.BytesOptions{Turns: turns})
					if err != nil {
						t.Fatal(err)
					}
					if len(res.Faces) == 0 {
						t.Fatalf("no face found after %d scans, want the face under turn %d", res.Scans, want)
					}
					if res.Turn != want {
						// The HOG detector sometimes fires on a face upside
						// down; the scan stops at the first turn with a face.
						t.Logf("face found under turn %d after %d scans, not %d (upside-down detection)", res.Turn, res.Scans, want)
						return
					}
					matched++
					f, _ := embed.Largest(res.Faces)
					tol := max(upFace.Box.Dx(), upFace.Box.Dy()) / 5
					if dd := f.Box.Min.Sub(wantBox.Min); abs(dd.X) > tol || abs(dd.Y) > tol || abs(f.Box.Dx()-wantBox.Dx()) > tol {
						t.Errorf("box %v, want %v within %d px", f.Box, wantBox, tol)
					}
					dist := f.Descriptor.Distance(upFace.Descriptor)
					t.Logf("turn %d: %d scans, box %v (upright face at %v), distance to the upright descriptor %.3f", res.Turn, res.Scans, f.Box, wantBox, dist)
					if dist > 0.25 {
						t.Errorf("descriptor %.3f from the upright one, want <= 0.25", dist)
					}
				})
			}
		}
	}
	// chaeyeon.jpg turned by 180 is found upside down by the upright scan,
	// turned by 90 under the 90° turn: 4 of 12 cases.
	if matched < cases-4 {
		t.Errorf("faces found under the right turn in %d of %d cases, want at least %d", matched, cases, cases-4)
	}
}

// TestFacesBytesWithLook checks that Look sees the oriented image before
// any face is searched and that its error ends the call.
func TestFacesBytesWithLook(t *testing.T) {
	d := newDlib(t, 80)
	stop := errors.New("stop")
	for _, name := range []string{"idols/chaeyeon.jpg", "bbt/sheldon/sheldon1.png"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(facesPath(t, name))
			if err != nil {
				t.Fatal(err)
			}
			full := decodeFile(t, facesPath(t, name)).Rect.Size()
			var seen image.Point
			res, err := d.FacesBytesWith(context.Background(), data, embed.BytesOptions{Look: func(img image.Image) error {
				seen = img.Bounds().Size()
				return stop
			}})
			if !errors.Is(err, stop) || res.Scans != 0 || len(res.Faces) != 0 {
				t.Fatalf("Look's error: got %v after %d scans, %d faces; want it at once", err, res.Scans, len(res.Faces))
			}
			if seen.X*full.Y/full.X-seen.Y > 1 || seen.Y-seen.X*full.Y/full.X > 1 || min(seen.X, seen.Y) < min(embed.LookMinSide, full.X, full.Y) {
				t.Errorf("Look saw %v for a %v image", seen, full)
			}
			res, err = d.FacesBytesWith(context.Background(), data, embed.BytesOptions{Look: func(image.Image) error { return nil }})
			if err != nil || len(res.Faces) == 0 || res.Scans != 1 {
				t.Errorf("Look nil error: %d faces after %d scans, %v", len(res.Faces), res.Scans, err)
			}
		})
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

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
