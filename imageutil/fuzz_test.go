package imageutil

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/faceoptout/faceoptout/internal/testimage"
	"golang.org/x/image/tiff"
)

// FuzzDecode feeds arbitrary bytes to DecodeBytes: it must never panic,
// every error must wrap one of the package's sentinels, and every success
// must be an opaque NRGBA of the declared size. Seeds: a small file of every
// format, with and without EXIF orientation, paletted, 16-bit, alpha and
// 4-component JPEGs, and header-only bombs.
func FuzzDecode(f *testing.F) {
	src := quadrants(12, 8)
	le, be := binary.LittleEndian, binary.BigEndian
	samples := formatSamples(f)
	for _, format := range slices.Sorted(maps.Keys(samples)) {
		f.Add(samples[format])
	}
	pal := image.NewPaletted(src.Rect, color.Palette{color.Transparent, quadTR, quadBL})
	pal.Pix[3] = 1
	g16 := image.NewGray16(src.Rect)
	g16.Pix[5] = 0x80
	alpha := image.NewNRGBA(src.Rect)
	alpha.Pix[7] = 0x80
	for _, data := range [][]byte{
		withJPEGEXIF(encJPEG(f, src, 50), exifTIFF(6, le)),
		withJPEGEXIF(encJPEG(f, src, 50), exifTIFF(5, be)),
		withPNGEXIF(encPNG(f, src), exifTIFF(8, be)),
		encTIFFOriented(src, 3, le),
		encTIFFOriented(src, 7, be),
		encWebP(f, src, exifTIFF(2, le)),
		encPNG(f, pal),
		encGIF(f, pal),
		encPNG(f, g16),
		encTIFF(f, g16, tiff.Deflate),
		encPNG(f, alpha),
		encBMP(f, pal),
		testimage.JPEG4(16, 8, 0, func(x, y int) [4]uint8 { return [4]uint8{uint8(x), uint8(y), 50, 200} }),
		testimage.JPEG4(16, 8, 2, func(x, y int) [4]uint8 { return [4]uint8{uint8(x), 90, uint8(y), 10} }),
	} {
		f.Add(data)
	}
	bomb := bombs(f, 5000, 5000)
	for _, format := range slices.Sorted(maps.Keys(bomb)) {
		f.Add(bomb[format])
	}
	f.Add(progressiveJPEG(128, 1024, 3))
	f.Add(progressiveJPEG(128, 1024, 70))
	f.Add(loopingEXIF())
	f.Add(lyingEXIF())
	f.Add(appendZip(f, encPNG(f, quadrants(8, 8))))
	f.Add(webpUniform(300, 200))
	f.Add(pngBombInterlaced(64, 64))
	f.Add(tiffDeflateBomb(64, 64, 64))
	limits := Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 18, MaxScans: 16} // keep each run fast
	f.Fuzz(func(t *testing.T, data []byte) {
		// With a pixel budget too: the reduced path must keep the same
		// promises and give the same error.
		r, rerr := DecodeBytes(data, WithLimits(limits), WithPixelBudget(100))
		if r != nil && (r.Bounds().Dx()*r.Bounds().Dy() > 100 || r.Reduction < 1) {
			t.Fatalf("budget 100: %v, reduction %d", r.Bounds(), r.Reduction)
		}
		m, err := DecodeBytes(data, WithLimits(limits))
		if (err == nil) != (rerr == nil) && !errors.Is(err, ErrTooLarge) && !errors.Is(rerr, ErrTooLarge) {
			t.Fatalf("full size: %v; reduced: %v", err, rerr)
		}
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if m != nil {
				t.Fatal("image with an error")
			}
			return
		}
		if m.Orientation < 1 || m.Orientation > 8 {
			t.Fatalf("orientation %d", m.Orientation)
		}
		w, h := m.SourceWidth, m.SourceHeight
		if m.Orientation >= 5 {
			w, h = h, w
		}
		if m.Bounds() != image.Rect(0, 0, w, h) || int64(w)*int64(h) > limits.MaxPixels {
			t.Fatalf("bounds %v, source %dx%d, orientation %d", m.Bounds(), m.SourceWidth, m.SourceHeight, m.Orientation)
		}
		for i := 3; i < len(m.RGB.Pix); i += 4 {
			if m.RGB.Pix[i] != 0xff {
				t.Fatalf("alpha %d at %d", m.RGB.Pix[i], i)
			}
		}
		_ = PHash(m.RGB)
	})
}

// FuzzParseHash: ParseHash never panics, and whatever it accepts prints
// back as the same hash.
func FuzzParseHash(f *testing.F) {
	for _, s := range []string{"0123456789abcdef", "FFFFFFFFFFFFFFFF", "", "0123456789abcdeg", "0x23456789abcdef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		if err != nil {
			return
		}
		g, err := ParseHash(h.String())
		if err != nil || g != h {
			t.Fatalf("%q -> %v -> %v, %v", s, h, g, err)
		}
	})
}

// TestWriteFuzzSeeds writes the small cases of the hostile corpus (at most
// 64 KiB each) into testdata/fuzz/FuzzDecode, where go test runs them as
// seeds of FuzzDecode (and fuzzing starts from them). It runs only when
// IMAGEUTIL_WRITE_SEEDS=1; findings of the fuzzer land in the same
// directory on their own.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("IMAGEUTIL_WRITE_SEEDS") != "1" {
		t.Skip("IMAGEUTIL_WRITE_SEEDS=1 writes testdata/fuzz/FuzzDecode")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range hostileCorpus() {
		if c.heavy {
			continue
		}
		data := c.make(t)
		if len(data) > 64<<10 {
			continue
		}
		name := "hostile-" + strings.NewReplacer("/", "-", "+", "-").Replace(c.name)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
