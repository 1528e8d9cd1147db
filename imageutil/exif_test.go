package imageutil

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"testing"

	"github.com/disintegration/imaging"
)

// displayQuadrants is, per EXIF orientation, which stored quadrant shows in
// the displayed image's top-left, top-right, bottom-left and bottom-right
// (worked out by hand from the EXIF specification).
var displayQuadrants = [9][4]color.NRGBA{
	1: {quadTL, quadTR, quadBL, quadBR},
	2: {quadTR, quadTL, quadBR, quadBL}, // mirrored horizontally
	3: {quadBR, quadBL, quadTR, quadTL}, // rotated 180°
	4: {quadBL, quadBR, quadTL, quadTR}, // mirrored vertically
	5: {quadTL, quadBL, quadTR, quadBR}, // transposed
	6: {quadBL, quadTL, quadBR, quadTR}, // rotated 90° clockwise
	7: {quadBR, quadTR, quadBL, quadTL}, // transversed
	8: {quadTR, quadBR, quadTL, quadBL}, // rotated 90° counter-clockwise
}

// displayed applies orientation o to m with imaging's transforms, an
// implementation independent of this package's.
func displayed(m image.Image, o int) *image.NRGBA {
	switch o {
	case 2:
		return imaging.FlipH(m)
	case 3:
		return imaging.Rotate180(m)
	case 4:
		return imaging.FlipV(m)
	case 5:
		return imaging.Transpose(m)
	case 6:
		return imaging.Rotate270(m) // imaging rotates counter-clockwise
	case 7:
		return imaging.Transverse(m)
	case 8:
		return imaging.Rotate90(m)
	}
	return imaging.Clone(m)
}

// TestOrientation writes the quadrant pattern with each EXIF orientation in
// every format that carries one and checks the decoded, displayed pixels.
func TestOrientation(t *testing.T) {
	const w, h = 48, 32 // not square, so that a missed transpose shows
	src := quadrants(w, h)
	le, be := binary.LittleEndian, binary.BigEndian
	formats := []struct {
		name  string
		enc   func(o int) []byte
		exact bool // lossless: compare every pixel with imaging's result
	}{
		{"jpeg/II", func(o int) []byte { return withJPEGEXIF(encJPEG(t, src, 95), exifTIFF(o, le)) }, false},
		{"jpeg/MM", func(o int) []byte { return withJPEGEXIF(encJPEG(t, src, 95), exifTIFF(o, be)) }, false},
		{"png/eXIf", func(o int) []byte { return withPNGEXIF(encPNG(t, src), exifTIFF(o, be)) }, true},
		{"tiff/II", func(o int) []byte { return encTIFFOriented(src, o, le) }, true},
		{"tiff/MM", func(o int) []byte { return encTIFFOriented(src, o, be) }, true},
		{"webp/EXIF", func(o int) []byte { return encWebP(t, src, exifTIFF(o, le)) }, true},
	}
	for _, f := range formats {
		for o := 1; o <= 8; o++ {
			t.Run(fmt.Sprintf("%s/%d", f.name, o), func(t *testing.T) {
				m, err := DecodeBytes(f.enc(o))
				noError(t, err)
				equal(t, o, m.Orientation)
				equal(t, [2]int{w, h}, [2]int{m.SourceWidth, m.SourceHeight})
				dw, dh := w, h
				if o >= 5 {
					dw, dh = h, w
				}
				equal(t, image.Rect(0, 0, dw, dh), m.Bounds())
				checkOpaque(t, m.RGB)
				q := displayQuadrants[o]
				for i, p := range []image.Point{{dw / 4, dh / 4}, {3 * dw / 4, dh / 4}, {dw / 4, 3 * dh / 4}, {3 * dw / 4, 3 * dh / 4}} {
					if got := m.RGB.NRGBAAt(p.X, p.Y); !near(got, q[i], 40) {
						t.Errorf("quadrant %d at %v = %v, want %v", i, p, got, q[i])
					}
				}
				if f.exact {
					want := displayed(src, o)
					equal(t, want.Pix, m.RGB.Pix, "pixels differ from imaging's transform")
				}
			})
		}
	}
}

// TestOrient checks the exported conversion against imaging for every
// orientation, on an image whose bounds do not start at the origin and whose
// height is not a multiple of the band height.
func TestOrient(t *testing.T) {
	src := image.NewNRGBA(image.Rect(5, 7, 5+37, 7+3*band+5))
	for i := range src.Pix {
		src.Pix[i] = byte(i * 7)
	}
	for i := 3; i < len(src.Pix); i += 4 {
		src.Pix[i] = 0xff
	}
	for o := 0; o <= 9; o++ {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			want := displayed(src, o) // 0 and 9 are not orientations: identity
			equal(t, want.Pix, Orient(src, o).Pix)
		})
	}
}

// TestTurnOrientation checks that Orient with TurnOrientation(deg) turns
// an image clockwise by deg, pixel by pixel, and that other angles leave it
// as it is.
func TestTurnOrientation(t *testing.T) {
	const w, h = 5, 3
	src := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range src.Pix {
		src.Pix[i] = byte(i)
	}
	for i := 3; i < len(src.Pix); i += 4 {
		src.Pix[i] = 0xff
	}
	tests := []struct {
		name string
		deg  int
		size image.Point
		to   func(x, y int) (int, int) // where src's pixel (x, y) lands
	}{
		{"upright", 0, image.Pt(w, h), func(x, y int) (int, int) { return x, y }},
		{"90 clockwise", 90, image.Pt(h, w), func(x, y int) (int, int) { return h - 1 - y, x }},
		{"180", 180, image.Pt(w, h), func(x, y int) (int, int) { return w - 1 - x, h - 1 - y }},
		{"270 clockwise", 270, image.Pt(h, w), func(x, y int) (int, int) { return y, w - 1 - x }},
		{"not a quarter turn", 45, image.Pt(w, h), func(x, y int) (int, int) { return x, y }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Orient(src, TurnOrientation(tc.deg))
			if got.Bounds().Size() != tc.size {
				t.Fatalf("size %v, want %v", got.Bounds().Size(), tc.size)
			}
			for y := range h {
				for x := range w {
					tx, ty := tc.to(x, y)
					if a, b := src.NRGBAAt(x, y), got.NRGBAAt(tx, ty); a != b {
						t.Fatalf("pixel (%d,%d) -> (%d,%d): %v, want %v", x, y, tx, ty, b, a)
					}
				}
			}
		})
	}
}

func TestOrientationParsers(t *testing.T) {
	le := binary.LittleEndian
	long := exifTIFF(6, le)
	le.PutUint16(long[8+2+12+2:], 4) // orientation as LONG
	le.PutUint32(long[8+2+12+8:], 6)
	jpg := encJPEG(t, quadrants(8, 8), 90)
	xmpFirst := withJPEGEXIF(jpg, exifTIFF(3, le))
	xmp := append([]byte{0xff, 0xe1, 0, 12}, "http://ns."...)
	xmpFirst = append(append(append([]byte{}, xmpFirst[:2]...), xmp...), xmpFirst[2:]...)

	tests := []struct {
		name   string
		format string
		data   []byte
		want   int
	}{
		{"jpeg/no exif", FormatJPEG, jpg, 1},
		{"jpeg/xmp app1 before exif", FormatJPEG, xmpFirst, 3},
		{"jpeg/fill bytes", FormatJPEG, append([]byte{0xff, 0xd8, 0xff, 0xff}, withJPEGEXIF(jpg, exifTIFF(8, le))[3:]...), 8},
		{"jpeg/exif after SOS ignored", FormatJPEG, append([]byte{0xff, 0xd8, 0xff, 0xda, 0, 2}, withJPEGEXIF(jpg, exifTIFF(6, le))[2:]...), 1},
		{"jpeg/segment past end", FormatJPEG, []byte{0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 'E', 'x', 'i', 'f', 0, 0}, 1},
		{"jpeg/length 0", FormatJPEG, []byte{0xff, 0xd8, 0xff, 0xe1, 0, 0, 0xff, 0xe1}, 1},
		{"jpeg/bare SOI", FormatJPEG, []byte{0xff, 0xd8}, 1},
		{"tiff/orientation 0", FormatTIFF, exifTIFF(0, le), 1},
		{"tiff/orientation 9", FormatTIFF, exifTIFF(9, le), 1},
		{"tiff/orientation 0xffff", FormatTIFF, exifTIFF(0xffff, le), 1},
		{"tiff/LONG", FormatTIFF, long, 6},
		{"tiff/header only", FormatTIFF, exifTIFF(6, le)[:8], 1},
		{"tiff/IFD offset past end", FormatTIFF, []byte("II*\x00\xff\xff\xff\xff"), 1},
		{"tiff/entry count past end", FormatTIFF, []byte("II*\x00\x08\x00\x00\x00\xff\xff\x12\x01"), 1},
		{"tiff/truncated entry", FormatTIFF, exifTIFF(6, le)[:8+2+12+6], 1},
		{"tiff/bad byte order", FormatTIFF, append([]byte("XX"), exifTIFF(6, le)[2:]...), 1},
		{"webp/EXIF chunk past end", FormatWebP, []byte("RIFF\x00\x00\x00\x00WEBPEXIF\xff\xff\xff\x00II*\x00"), 1},
		{"webp/Exif-prefixed payload", FormatWebP, encWebP(t, quadrants(4, 4), append([]byte("Exif\x00\x00"), exifTIFF(5, le)...)), 5},
		{"png/eXIf past end", FormatPNG, append(encPNG(t, quadrants(4, 4))[:33], 0xff, 0xff, 0xff, 0xff, 'e', 'X', 'I', 'f'), 1},
		{"png/no eXIf", FormatPNG, encPNG(t, quadrants(4, 4)), 1},
		{"bmp", FormatBMP, exifTIFF(6, le), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			equal(t, tt.want, orientation(tt.format, tt.data))
		})
	}
}

func FuzzOrientation(f *testing.F) {
	le, be := binary.LittleEndian, binary.BigEndian
	jpg := encJPEG(f, quadrants(8, 8), 90)
	f.Add(withJPEGEXIF(jpg, exifTIFF(6, le)))
	f.Add(withJPEGEXIF(jpg, exifTIFF(8, be)))
	f.Add(exifTIFF(3, le))
	f.Add(withPNGEXIF(encPNG(f, quadrants(4, 4)), exifTIFF(2, be)))
	f.Add(encWebP(f, quadrants(4, 4), exifTIFF(7, le)))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []string{FormatJPEG, FormatPNG, FormatWebP, FormatTIFF} {
			if o := orientation(format, data); o < 1 || o > 8 {
				t.Fatalf("%s: orientation %d", format, o)
			}
		}
	})
}
