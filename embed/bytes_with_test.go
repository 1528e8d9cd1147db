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
)

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
			turned := imageutil.Orient(img, imageutil.TurnOrientation(k))
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
