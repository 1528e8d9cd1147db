package imageutil

import (
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"maps"
	"slices"
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
	limits := Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20} // keep each run fast
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeBytes(data, WithLimits(limits))
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
