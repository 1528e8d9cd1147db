//go:build cgo

package embed

import (
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/imageutil"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

func randomImage(rng *rand.Rand, w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = byte(rng.IntN(256))
	}
	for i := 3; i < len(m.Pix); i += 4 {
		m.Pix[i] = 0xff
	}
	return m
}

func TestUnturn(t *testing.T) {
	const w, h = 7, 4
	box := image.Rect(1, 1, 3, 4) // pixels (1..2, 1..3)
	for _, deg := range []int{0, 90, 180, 270} {
		t.Run(fmt.Sprintf("%d", deg), func(t *testing.T) {
			img := image.NewNRGBA(image.Rect(0, 0, w, h))
			for i := 3; i < len(img.Pix); i += 4 {
				img.Pix[i] = 0xff
			}
			for y := box.Min.Y; y < box.Max.Y; y++ {
				for x := box.Min.X; x < box.Max.X; x++ {
					img.Pix[img.PixOffset(x, y)] = 200
				}
			}
			turned := imageutil.Orient(img, imageutil.TurnOrientation(deg))
			var found image.Rectangle
			for y := 0; y < turned.Rect.Dy(); y++ {
				for x := 0; x < turned.Rect.Dx(); x++ {
					if turned.Pix[turned.PixOffset(x, y)] == 200 {
						p := image.Rect(x, y, x+1, y+1)
						found = found.Union(p)
						q := unturnPoint(image.Pt(x, y), image.Pt(w, h), deg)
						if !q.In(box) {
							t.Errorf("pixel %v of the turned image maps to %v, outside %v", image.Pt(x, y), q, box)
						}
					}
				}
			}
			if got := UnturnBox(found, image.Pt(w, h), deg); got != box {
				t.Errorf("box found at %v maps back to %v, want %v", found, got, box)
			}
		})
	}
}

// TestLookPHashAcrossDecoders checks that the perceptual hash of the
// reduced JPEG decode FacesBytesWith hands to Look stays comparable with
// the hash of imageutil's full decode (the hash stored for removed
// images), on every JPEG of the shared photo sets.
func TestLookPHashAcrossDecoders(t *testing.T) {
	// Tolerance: half of imageutil.DefaultMatchDistance, so a removed image
	// still matches a re-encoded copy across decoders.
	const tolerance = imageutil.DefaultMatchDistance / 2
	dir := testenv.Faces(t)
	var files []string
	for _, set := range []string{"idols", "bbt"} {
		m, _ := filepath.Glob(filepath.Join(dir, set, "*.jpg"))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no JPEG photos in", dir)
	}
	worst, total := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		full, err := imageutil.DecodeBytes(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var d Dlib
		d.cfg = DefaultDlibConfig()
		hdr, err := d.readJPEGHeader(data, d.cfg.decodeLimits())
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		look, err := lookJPEG(data, hdr)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if look.Rect.Dx()*full.RGB.Rect.Dy() != look.Rect.Dy()*full.RGB.Rect.Dx() && absInt(look.Rect.Dx()*full.RGB.Rect.Dy()-look.Rect.Dy()*full.RGB.Rect.Dx()) > max(full.RGB.Rect.Dx(), full.RGB.Rect.Dy()) {
			t.Errorf("%s: look %v is not shaped as the image %v", f, look.Rect, full.RGB.Rect)
		}
		dist := imageutil.PHash(look).Distance(imageutil.PHash(full.RGB))
		worst = max(worst, dist)
		total += dist
		if dist > tolerance {
			t.Errorf("%s: look (%v) hash is %d bits from the full decode's (%v), tolerance %d", filepath.Base(f), look.Rect.Size(), dist, full.RGB.Rect.Size(), tolerance)
		}
	}
	t.Logf("%d JPEGs: hash distance between the look and imageutil's decode: max %d bits, mean %.2f (tolerance %d)", len(files), worst, float64(total)/float64(len(files)), tolerance)
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
