//go:build cgo

package embed

import (
	"context"
	"errors"
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
	files := sharedJPEGs(t)
	worst, total := 0, 0
	for _, p := range files {
		f, data, full := p.path, p.data, p.full
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

// TestLookFromWorker: the look at a JPEG is the worker's decode shrunk by
// LookShrink: at least LookMinSide (and under twice that) on its shorter
// side, shaped as the image, with a perceptual hash that stays comparable
// with imageutil's full decode (the hash stored for removed images); a
// look that fails ends the call before any scan. LookOnly's look, a
// DCT-scaled decode of its own, is TestLookPHashAcrossDecoders's.
func TestLookFromWorker(t *testing.T) {
	const tolerance = imageutil.DefaultMatchDistance / 2
	cfg := DefaultDlibConfig()
	cfg.ModelsDir, cfg.MinFaceSize = testenv.Models(t), 80
	d, err := NewDlib(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	files := sharedJPEGs(t)
	stop := errors.New("seen")
	worst := 0
	for _, p := range files {
		f, data, full := p.path, p.data, p.full
		var look image.Image
		res, err := d.FacesBytesWith(context.Background(), data, BytesOptions{Look: func(img image.Image) error {
			look = img
			return stop
		}})
		if !errors.Is(err, stop) || res.Scans != 0 || len(res.Faces) != 0 {
			t.Fatalf("%s: a failed look gave %+v, %v; want its error and no scan", f, res, err)
		}
		ls, fs := look.Bounds().Size(), full.RGB.Bounds().Size()
		if short := min(ls.X, ls.Y); short < min(LookMinSide, fs.X, fs.Y) || short >= 2*LookMinSide {
			t.Errorf("%s: look %v of a %v image", filepath.Base(f), ls, fs)
		}
		if absInt(ls.X*fs.Y-ls.Y*fs.X) > max(fs.X, fs.Y) {
			t.Errorf("%s: look %v is not shaped as the image %v", filepath.Base(f), ls, fs)
		}
		dist := imageutil.PHash(look).Distance(imageutil.PHash(full.RGB))
		worst = max(worst, dist)
		if dist > tolerance {
			t.Errorf("%s: look (%v) hash is %d bits from the full decode's, tolerance %d", filepath.Base(f), ls, dist, tolerance)
		}
	}
	t.Logf("%d JPEGs: hash distance between the worker's look and imageutil's decode: max %d bits (tolerance %d)", len(files), worst, tolerance)
}

// sharedJPEG is one JPEG photo of the shared sets: its path, its bytes and
// imageutil's full decode of them.
type sharedJPEG struct {
	path string
	data []byte
	full *imageutil.Image
}

// sharedJPEGs reads and decodes the JPEG photos of the shared faces/idols
// and faces/bbt sets.
func sharedJPEGs(t *testing.T) []sharedJPEG {
	t.Helper()
	dir := testenv.Faces(t)
	var files []string
	for _, set := range []string{"idols", "bbt"} {
		m, _ := filepath.Glob(filepath.Join(dir, set, "*.jpg"))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no JPEG photos in", dir)
	}
	out := make([]sharedJPEG, len(files))
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		full, err := imageutil.DecodeBytes(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[i] = sharedJPEG{f, data, full}
	}
	return out
}
