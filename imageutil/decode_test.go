package imageutil

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/faceoptout/faceoptout/internal/testimage"
	"golang.org/x/image/tiff"
)

// checkOpaque fails unless m is an opaque NRGBA at the origin.
func checkOpaque(t testing.TB, m *image.NRGBA) {
	t.Helper()
	equal(t, image.Point{}, m.Rect.Min)
	for i := 3; i < len(m.Pix); i += 4 {
		if m.Pix[i] != 0xff {
			t.Fatalf("alpha %d at byte %d, want 0xff", m.Pix[i], i)
		}
	}
}

// checkQuadrants fails unless m shows the quadrants pattern (sampled at the
// centre of each quadrant).
func checkQuadrants(t testing.TB, m *image.NRGBA, tol int) {
	t.Helper()
	w, h := m.Rect.Dx(), m.Rect.Dy()
	for _, q := range []struct {
		name string
		x, y int
		want color.NRGBA
	}{
		{"top-left", w / 4, h / 4, quadTL},
		{"top-right", 3 * w / 4, h / 4, quadTR},
		{"bottom-left", w / 4, 3 * h / 4, quadBL},
		{"bottom-right", 3 * w / 4, 3 * h / 4, quadBR},
	} {
		if got := m.NRGBAAt(q.x, q.y); !near(got, q.want, tol) {
			t.Errorf("%s quadrant at (%d,%d) = %v, want %v ±%d", q.name, q.x, q.y, got, q.want, tol)
		}
	}
}

func TestDecodeFormats(t *testing.T) {
	const w, h = 64, 48
	src := quadrants(w, h)
	pal := image.NewPaletted(src.Rect, color.Palette{quadTL, quadTR, quadBL, quadBR})
	for y := range h {
		for x := range w {
			pal.Set(x, y, src.At(x, y))
		}
	}
	rgba64 := image.NewRGBA64(src.Rect)
	nrgba64 := image.NewNRGBA64(src.Rect)
	for y := range h {
		for x := range w {
			rgba64.Set(x, y, src.At(x, y))
			nrgba64.Set(x, y, src.At(x, y))
		}
	}
	tests := []struct {
		name   string
		data   []byte
		format string
		tol    int
	}{
		{"jpeg", encJPEG(t, src, 95), FormatJPEG, 40},
		{"png/nrgba", encPNG(t, src), FormatPNG, 0},
		{"png/rgba64", encPNG(t, rgba64), FormatPNG, 0},
		{"png/nrgba64", encPNG(t, nrgba64), FormatPNG, 0},
		{"png/paletted", encPNG(t, pal), FormatPNG, 0},
		{"gif", encGIF(t, pal), FormatGIF, 0},
		{"webp/lossless", encWebP(t, src, nil), FormatWebP, 0},
		{"bmp", encBMP(t, src), FormatBMP, 0},
		{"tiff/none", encTIFF(t, src, tiff.Uncompressed), FormatTIFF, 0},
		{"tiff/deflate", encTIFF(t, src, tiff.Deflate), FormatTIFF, 0},
		{"tiff/rgba64", encTIFF(t, rgba64, tiff.Deflate), FormatTIFF, 0},
		{"tiff/handmade", encTIFFOriented(src, 0, binary.BigEndian), FormatTIFF, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(bytes.NewReader(tt.data))
			noError(t, err)
			equal(t, tt.format, m.Format)
			equal(t, 1, m.Orientation)
			equal(t, image.Rect(0, 0, w, h), m.Bounds())
			equal(t, [2]int{w, h}, [2]int{m.SourceWidth, m.SourceHeight})
			checkOpaque(t, m.RGB)
			checkQuadrants(t, m.RGB, tt.tol)
		})
	}
}

// TestDecodeColorModels checks the conversion of each colour model to
// opaque 8-bit RGB, pixel by pixel.
func TestDecodeColorModels(t *testing.T) {
	r := image.Rect(0, 0, 4, 1)
	gray := image.NewGray(r)
	gray16 := image.NewGray16(r)
	rgba64 := image.NewRGBA64(r)
	alpha := image.NewNRGBA(r)
	for x, v := range []uint8{0, 85, 170, 255} {
		gray.SetGray(x, 0, color.Gray{v})
		gray16.SetGray16(x, 0, color.Gray16{uint16(v)<<8 | 0x7f})
		rgba64.SetRGBA64(x, 0, color.RGBA64{uint16(v) << 8, 0x1234, 0xffff - uint16(v)<<8, 0xffff})
	}
	// Alpha 0, 128 and 255 red, and half-transparent black.
	alpha.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 0})
	alpha.SetNRGBA(1, 0, color.NRGBA{255, 0, 0, 128})
	alpha.SetNRGBA(2, 0, color.NRGBA{255, 0, 0, 255})
	alpha.SetNRGBA(3, 0, color.NRGBA{0, 0, 0, 128})
	transparentGIF := image.NewPaletted(r, color.Palette{color.NRGBA{0, 0, 0, 0}, color.NRGBA{10, 20, 30, 255}})
	transparentGIF.Pix = []uint8{0, 1, 1, 0}

	g := func(v uint8) color.NRGBA { return color.NRGBA{v, v, v, 255} }
	tests := []struct {
		name string
		data []byte
		want []color.NRGBA
		tol  int
	}{
		{"png/gray", encPNG(t, gray), []color.NRGBA{g(0), g(85), g(170), g(255)}, 0},
		{"png/gray16", encPNG(t, gray16), []color.NRGBA{g(0), g(85), g(170), g(255)}, 0},
		{"png/rgba64", encPNG(t, rgba64), []color.NRGBA{{0, 0x12, 255, 255}, {85, 0x12, 170, 255}, {170, 0x12, 85, 255}, {255, 0x12, 0, 255}}, 0},
		// Over white: c·a/255 + 255·(1-a/255).
		{"png/alpha", encPNG(t, alpha), []color.NRGBA{g(255), {255, 127, 127, 255}, {255, 0, 0, 255}, g(127)}, 1},
		{"gif/transparent", encGIF(t, transparentGIF), []color.NRGBA{g(255), {10, 20, 30, 255}, {10, 20, 30, 255}, g(255)}, 0},
		{"tiff/gray16", encTIFF(t, gray16, tiff.Uncompressed), []color.NRGBA{g(0), g(85), g(170), g(255)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeBytes(tt.data)
			noError(t, err)
			checkOpaque(t, m.RGB)
			for x, want := range tt.want {
				if got := m.RGB.NRGBAAt(x, 0); !near(got, want, tt.tol) {
					t.Errorf("pixel %d = %v, want %v ±%d", x, got, want, tt.tol)
				}
			}
		})
	}
}

// TestDecodeCMYKJPEG decodes 4-component JPEGs (Adobe CMYK, stored inverted,
// and YCCK) written by a test encoder and checks them against image/jpeg's
// own reading of the colours followed by color.CMYKToRGB.
func TestDecodeCMYKJPEG(t *testing.T) {
	const w, h = 32, 16
	stored := func(x, y int) [4]uint8 {
		return [4]uint8{uint8(40 + 50*(x/8)), uint8(200 - 30*(x/8)), uint8(60 + 100*(y/8)), uint8(220 - 120*(y/8))}
	}
	tests := []struct {
		name      string
		transform byte
		// want is the CMYK value image/jpeg reports for a stored value.
		want func(s [4]uint8) color.CMYK
	}{
		{"adobe-cmyk-inverted", 0, func(s [4]uint8) color.CMYK {
			return color.CMYK{255 - s[0], 255 - s[1], 255 - s[2], 255 - s[3]}
		}},
		{"adobe-ycck", 2, func(s [4]uint8) color.CMYK {
			r, g, b := color.YCbCrToRGB(s[0], s[1], s[2])
			return color.CMYK{r, g, b, 255 - s[3]}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := testimage.JPEG4(w, h, tt.transform, stored)
			std, err := jpeg.Decode(bytes.NewReader(data))
			noError(t, err)
			cm, ok := std.(*image.CMYK)
			isTrue(t, ok, "image/jpeg returned %T, want *image.CMYK", std)

			m, err := DecodeBytes(data)
			noError(t, err)
			equal(t, FormatJPEG, m.Format)
			checkOpaque(t, m.RGB)
			for y := 0; y < h; y += 8 {
				for x := 0; x < w; x += 8 {
					want := tt.want(stored(x, y))
					if got := cm.CMYKAt(x+3, y+3); !nearCMYK(got, want, 2) {
						t.Errorf("image/jpeg CMYK at (%d,%d) = %v, want %v", x, y, got, want)
					}
					r, g, b := color.CMYKToRGB(want.C, want.M, want.Y, want.K)
					if got := m.RGB.NRGBAAt(x+3, y+3); !near(got, color.NRGBA{r, g, b, 255}, 3) {
						t.Errorf("RGB at (%d,%d) = %v, want %v", x, y, got, color.NRGBA{r, g, b, 255})
					}
				}
			}
		})
	}
}

func nearCMYK(a, b color.CMYK, tol int) bool {
	return near(color.NRGBA{a.C, a.M, a.Y, a.K}, color.NRGBA{b.C, b.M, b.Y, b.K}, tol)
}

// TestToRGBCMYK checks the CMYK conversion path on an image.CMYK directly.
func TestToRGBCMYK(t *testing.T) {
	m := image.NewCMYK(image.Rect(0, 0, 3, 1))
	vals := []color.CMYK{{0, 0, 0, 0}, {255, 0, 0, 0}, {0, 128, 64, 32}}
	for x, c := range vals {
		m.SetCMYK(x, 0, c)
	}
	out := ToRGB(m)
	checkOpaque(t, out)
	for x, c := range vals {
		r, g, b := color.CMYKToRGB(c.C, c.M, c.Y, c.K)
		equal(t, color.NRGBA{r, g, b, 255}, out.NRGBAAt(x, 0), "pixel %d", x)
	}
}

// formatSamples returns a small valid file of every format.
func formatSamples(t testing.TB) map[string][]byte { return formatSamplesSized(t, 40, 30) }

// formatSamplesSized returns a w x h quadrant pattern in every format.
func formatSamplesSized(t testing.TB, w, h int) map[string][]byte {
	src := quadrants(w, h)
	pal := image.NewPaletted(src.Rect, color.Palette{quadTL, quadTR, quadBL, quadBR})
	for y := range h {
		for x := range w {
			pal.Set(x, y, src.At(x, y))
		}
	}
	return map[string][]byte{
		FormatJPEG: encJPEG(t, src, 80),
		FormatPNG:  encPNG(t, src),
		FormatGIF:  encGIF(t, pal),
		FormatWebP: encWebP(t, src, nil),
		FormatBMP:  encBMP(t, src),
		FormatTIFF: encTIFF(t, src, tiff.Deflate),
	}
}

func TestDecodeTruncated(t *testing.T) {
	for format, data := range formatSamples(t) {
		for _, frac := range []int{1, 2, 3, 5, 7, 9} {
			n := len(data) * frac / 10
			t.Run(format+"/"+string(rune('0'+frac))+"0%", func(t *testing.T) {
				_, err := DecodeBytes(data[:n])
				errorIs(t, err, ErrCorrupt, "cut at %d of %d bytes", n, len(data))
			})
		}
	}
}

func TestDecodeGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	random[0] = 0 // no accidental signature
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0xff}},
		{"random", random},
		{"text", []byte("<html><body>not an image</body></html>")},
		{"bigtiff", []byte("II+\x00\x08\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00")},
		{"riff but not webp", []byte("RIFF\x04\x00\x00\x00WAVE")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeBytes(tt.data)
			errorIs(t, err, ErrFormat)
			notErrorIs(t, err, ErrCorrupt)
		})
	}
}

// TestDecodeUnsupported: a valid file using a feature the decoders lack.
func TestDecodeUnsupported(t *testing.T) {
	data := testimage.JPEG4(16, 16, 0, func(x, y int) [4]uint8 { return [4]uint8{1, 2, 3, 4} })
	// Drop the Adobe segment: image/jpeg cannot tell CMYK from YCCK.
	adobe := bytes.Index(data, []byte{0xff, 0xee})
	n := int(data[adobe+2])<<8 | int(data[adobe+3])
	data = append(data[:adobe:adobe], data[adobe+2+n:]...)
	_, err := DecodeBytes(data)
	errorIs(t, err, ErrFormat)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless is an io.Reader of endless bytes.
type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

func TestDecodeHugeInput(t *testing.T) {
	png := encPNG(t, quadrants(64, 64))
	tests := []struct {
		name   string
		r      io.Reader
		limits Limits
		max    int64
	}{
		{"endless/default", endless(0xff), Limits{}, 20 << 20},
		{"endless/1KiB", endless(0), Limits{MaxBytes: 1024}, 1024},
		{"png/just over", bytes.NewReader(png), Limits{MaxBytes: int64(len(png)) - 1}, int64(len(png)) - 1},
		{"png+trailer", io.MultiReader(bytes.NewReader(png), endless(0)), Limits{MaxBytes: 1 << 20}, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := &countingReader{r: tt.r}
			_, err := Decode(cr, WithLimits(tt.limits))
			errorIs(t, err, ErrTooLarge)
			le := limitError(t, err)
			equal(t, LimitBytes, le.Limit)
			equal(t, tt.max, le.Max)
			equal(t, tt.max+1, le.Value)
			atMost(t, cr.n, tt.max+1, "bytes read")
		})
	}
	t.Run("DecodeBytes", func(t *testing.T) {
		_, err := DecodeBytes(png, WithLimits(Limits{MaxBytes: 100}))
		le := limitError(t, err)
		equal(t, int64(len(png)), le.Value)
	})
	t.Run("exactly at the limit", func(t *testing.T) {
		_, err := Decode(bytes.NewReader(png), WithLimits(Limits{MaxBytes: int64(len(png))}))
		noError(t, err)
	})
}

// errReader fails after its data.
type errReader struct{ data []byte }

var errBroken = errors.New("broken pipe")

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, errBroken
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestDecodeReadError(t *testing.T) {
	_, err := Decode(&errReader{data: encPNG(t, quadrants(8, 8))})
	errorIs(t, err, errBroken)
}

// bombs returns, per format, a small file whose header declares w x h.
func bombs(t testing.TB, w, h int) map[string][]byte {
	t.Helper()
	p := encPNG(t, quadrants(8, 8))
	ihdr := make([]byte, 13)
	copy(ihdr, p[16:29])
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	pngBomb := append(append(append([]byte{}, p[:8]...), pngChunk("IHDR", ihdr)...), p[33:]...)

	j := encJPEG(t, quadrants(8, 8), 90)
	sof := bytes.Index(j, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(j[sof+5:], uint16(h))
	binary.BigEndian.PutUint16(j[sof+7:], uint16(w))

	g := encGIF(t, image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{color.Black, color.White}))
	binary.LittleEndian.PutUint16(g[6:], uint16(w))
	binary.LittleEndian.PutUint16(g[8:], uint16(h))

	b := encBMP(t, quadrants(8, 8))
	binary.LittleEndian.PutUint32(b[18:], uint32(w))
	binary.LittleEndian.PutUint32(b[22:], uint32(h))

	tf := encTIFFOriented(quadrants(8, 8), 0, binary.LittleEndian)
	binary.LittleEndian.PutUint32(tf[8+2+8:], uint32(w))
	binary.LittleEndian.PutUint32(tf[8+2+12+8:], uint32(h))

	x := make([]byte, 10)
	x[4], x[5], x[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
	x[7], x[8], x[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
	wp := append([]byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00"), x...)
	wp = append(wp, "VP8L\x05\x00\x00\x00\x2f\xff\xff\xff\x0f\x00"...)
	binary.LittleEndian.PutUint32(wp[4:], uint32(len(wp)-8))

	return map[string][]byte{FormatPNG: pngBomb, FormatJPEG: j, FormatGIF: g, FormatBMP: b, FormatTIFF: tf, FormatWebP: wp}
}

func TestDecodeBomb(t *testing.T) {
	tests := []struct {
		format string
		w, h   int
	}{
		{FormatPNG, 100000, 100000},
		{FormatJPEG, 65535, 65535},
		{FormatGIF, 65535, 65535},
		{FormatBMP, 100000, 100000},
		{FormatTIFF, 100000, 100000},
		{FormatWebP, 40000, 40000},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			data := bombs(t, tt.w, tt.h)[tt.format]
			_, err := DecodeBytes(data)
			errorIs(t, err, ErrTooLarge)
			le := limitError(t, err)
			equal(t, LimitPixels, le.Limit)
			equal(t, tt.format, le.Format)
			equal(t, [2]int{tt.w, tt.h}, [2]int{le.Width, le.Height})
			equal(t, int64(tt.w)*int64(tt.h), le.Value)
			equal(t, DefaultLimits().MaxPixels, le.Max)

			// The refusal happens before any pixel is allocated: measure
			// the bytes allocated per call (a decoded bomb would need
			// gigabytes).
			const runs = 20
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range runs {
				_, _ = DecodeBytes(data)
			}
			runtime.ReadMemStats(&after)
			perCall := (after.TotalAlloc - before.TotalAlloc) / runs
			t.Logf("%s bomb %dx%d (%d bytes): %d bytes allocated per Decode", tt.format, tt.w, tt.h, len(data), perCall)
			atMost(t, perCall, uint64(256<<10), "bytes allocated per refused bomb")
		})
	}
}

// TestDecodeLyingGIF: a GIF whose frame is larger than its logical screen
// must not be decoded at the frame's size.
func TestDecodeLyingGIF(t *testing.T) {
	m := image.NewPaletted(image.Rect(0, 0, 3000, 3000), color.Palette{color.Black, color.White})
	g := encGIF(t, m)
	binary.LittleEndian.PutUint16(g[6:], 10) // logical screen 10x10
	binary.LittleEndian.PutUint16(g[8:], 10)
	_, err := DecodeBytes(g)
	errorIs(t, err, ErrCorrupt)
}

// TestDecodeGIFCanvas: a first frame smaller than the logical screen is
// drawn at its offset on a white canvas.
func TestDecodeGIFCanvas(t *testing.T) {
	frame := image.NewPaletted(image.Rect(2, 1, 5, 3), color.Palette{color.Black})
	var g bytes.Buffer
	noError(t, gif.EncodeAll(&g, &gif.GIF{
		Image:  []*image.Paletted{frame},
		Delay:  []int{0},
		Config: image.Config{ColorModel: frame.Palette, Width: 8, Height: 4},
	}))
	m, err := DecodeBytes(g.Bytes())
	noError(t, err)
	equal(t, image.Rect(0, 0, 8, 4), m.Bounds())
	for y := range 4 {
		for x := range 8 {
			want := color.NRGBA{255, 255, 255, 255}
			if image.Pt(x, y).In(frame.Rect) {
				want = color.NRGBA{0, 0, 0, 255}
			}
			equal(t, want, m.RGB.NRGBAAt(x, y), "(%d,%d)", x, y)
		}
	}
}

func TestDecodePanicBecomesError(t *testing.T) {
	data := encPNG(t, quadrants(8, 8))
	tests := []struct {
		name string
		c    codec
	}{
		{"config", codec{"boom", func(io.Reader) (image.Config, error) { panic("config") }, nil}},
		{"decode", codec{"boom", png.DecodeConfig, func(io.Reader) (image.Image, error) { panic("decode") }}},
		{"wrong size", codec{"boom", png.DecodeConfig, func(io.Reader) (image.Image, error) {
			return image.NewGray(image.Rect(0, 0, 9, 8)), nil
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeWith(context.Background(), tt.c, data, newOptions(nil))
			errorIs(t, err, ErrCorrupt)
		})
	}
}

func TestLimitsDefaults(t *testing.T) {
	equal(t, Limits{MaxBytes: 20 << 20, MaxPixels: 40_000_000, MaxMemory: 256 << 20, MaxScans: 64}, DefaultLimits())
	o := newOptions([]Option{WithLimits(Limits{MaxBytes: -1, MaxPixels: 0})})
	equal(t, DefaultLimits(), o.limits, "non-positive limits take the defaults")
	o = newOptions([]Option{WithLimits(Limits{MaxPixels: 100})})
	equal(t, Limits{MaxBytes: 20 << 20, MaxPixels: 100, MaxMemory: 256 << 20, MaxScans: 64}, o.limits)

	_, err := DecodeBytes(encPNG(t, quadrants(11, 10)), WithLimits(Limits{MaxPixels: 109}))
	errorIs(t, err, ErrTooLarge)
	_, err = DecodeBytes(encPNG(t, quadrants(11, 10)), WithLimits(Limits{MaxPixels: 110}))
	noError(t, err)
}

// TestDecodeFile decodes from an *os.File, the common case of a caller.
func TestDecodeFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "photo.png") // the name says PNG ...
	noError(t, os.WriteFile(p, encJPEG(t, quadrants(16, 16), 90), 0o600))
	f, err := os.Open(p)
	noError(t, err)
	defer f.Close()
	m, err := Decode(f)
	noError(t, err)
	equal(t, FormatJPEG, m.Format) // ... the content says JPEG
}
