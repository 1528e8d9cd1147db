package dlib_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/faceoptout/faceoptout/embed/internal/dlib"
	"github.com/faceoptout/faceoptout/imageutil"
	"github.com/faceoptout/faceoptout/internal/testimage"
)

// testImage is a smooth colour pattern (smooth, so that decoders that
// upsample chroma differently still agree closely).
func testImage(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(40 + 160*x/w), uint8(30 + 180*y/h), uint8(200 - 150*(x+y)/(w+h)), 255})
		}
	}
	return m
}

func packRGB(m *image.NRGBA) []byte {
	b := m.Bounds()
	out := make([]byte, 0, b.Dx()*b.Dy()*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := m.NRGBAAt(x, y)
			out = append(out, c.R, c.G, c.B)
		}
	}
	return out
}

func encGo(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var testOpts = dlib.JPEGOptions{ScaleNum: 8, MaxMemory: 256 << 20, MaxScans: 256}

// maxDiff compares packed RGB pixels with imageutil's decoding of the same
// file and returns the largest channel difference.
func maxDiff(t *testing.T, pix []byte, w, h int, ref *image.NRGBA) int {
	t.Helper()
	if ref.Bounds() != image.Rect(0, 0, w, h) {
		t.Fatalf("size %dx%d, imageutil %v", w, h, ref.Bounds())
	}
	worst := 0
	for y := range h {
		for x := range w {
			c := ref.NRGBAAt(x, y)
			p := pix[3*(y*w+x):]
			for i, v := range []uint8{c.R, c.G, c.B} {
				d := int(p[i]) - int(v)
				worst = max(worst, d, -d)
			}
		}
	}
	return worst
}

func TestDecodeJPEGMatchesImageutil(t *testing.T) {
	src := testImage(203, 151) // odd sizes: partial MCUs
	gray := image.NewGray(src.Bounds())
	for y := range 151 {
		for x := range 203 {
			gray.Set(x, y, src.At(x, y))
		}
	}
	prog, err := dlib.EncodeJPEG(packRGB(src), 203, 151, 95, false, true)
	if err != nil {
		t.Fatal(err)
	}
	progGray, err := dlib.EncodeJPEG(packRGB(src), 203, 151, 95, true, true)
	if err != nil {
		t.Fatal(err)
	}
	cmykColour := func(x, y int) [4]uint8 {
		return [4]uint8{uint8(255 - x), uint8(255 - y), uint8(200 - x/2), uint8(230 - y/3)}
	}
	tests := []struct {
		name string
		data []byte
		tol  int
	}{
		{"ycbcr 4:2:0", encGo(t, src), 6},
		{"grayscale", encGo(t, gray), 2},
		{"progressive", prog, 6},
		{"progressive grayscale", progGray, 2},
		{"adobe cmyk", testimage.JPEG4(64, 48, 0, cmykColour), 2},
		{"adobe ycck", testimage.JPEG4(64, 48, 2, cmykColour), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := imageutil.DecodeBytes(tc.data)
			if err != nil {
				t.Fatalf("imageutil: %v", err)
			}
			info, err := dlib.ReadJPEGInfo(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if info.Width != ref.RGB.Bounds().Dx() || info.Height != ref.RGB.Bounds().Dy() {
				t.Fatalf("header %dx%d, imageutil %v", info.Width, info.Height, ref.RGB.Bounds())
			}
			pix, w, h, err := dlib.DecodeJPEG(tc.data, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(t, pix, w, h, ref.RGB); d > tc.tol {
				t.Errorf("largest channel difference from imageutil %d, tolerance %d", d, tc.tol)
			}
		})
	}
}

func TestDecodeJPEGScaled(t *testing.T) {
	src := testImage(203, 151)
	data := encGo(t, src)
	for _, tc := range []struct{ num, w, h int }{{8, 203, 151}, {4, 102, 76}, {2, 51, 38}, {1, 26, 19}} {
		opts := testOpts
		opts.ScaleNum = tc.num
		pix, w, h, err := dlib.DecodeJPEG(data, opts)
		if err != nil {
			t.Fatalf("%d/8: %v", tc.num, err)
		}
		if w != tc.w || h != tc.h {
			t.Fatalf("%d/8: %dx%d, want %dx%d", tc.num, w, h, tc.w, tc.h)
		}
		// A smooth image scaled down keeps its colours where they were.
		for _, p := range []image.Point{{w / 4, h / 4}, {w / 2, h / 2}, {3 * w / 4, 3 * h / 4}} {
			c := src.NRGBAAt(p.X*203/w, p.Y*151/h)
			q := pix[3*(p.Y*w+p.X):]
			for i, v := range []uint8{c.R, c.G, c.B} {
				if d := int(q[i]) - int(v); d > 12 || d < -12 {
					t.Errorf("%d/8 at %v: channel %d is %d, full size %d", tc.num, p, i, q[i], v)
				}
			}
		}
	}
}

func TestDecodeJPEGRefuses(t *testing.T) {
	good := encGo(t, testImage(64, 64))
	prog, err := dlib.EncodeJPEG(packRGB(testImage(64, 64)), 64, 64, 90, false, true)
	if err != nil {
		t.Fatal(err)
	}
	garbled := append([]byte(nil), good...)
	for i := len(garbled) / 2; i < len(garbled)-2; i++ {
		garbled[i] = byte(i * 7)
	}
	tests := []struct {
		name string
		data []byte
		opts dlib.JPEGOptions
	}{
		{"empty", nil, testOpts},
		{"not a jpeg", []byte("GIF89a.........."), testOpts},
		{"header only", good[:200], testOpts},
		{"truncated", good[:len(good)*3/4], testOpts},
		{"truncated progressive", prog[:len(prog)*3/4], testOpts},
		{"garbled entropy data", garbled, testOpts},
		{"progressive beyond the scan bound", prog, dlib.JPEGOptions{ScaleNum: 8, MaxScans: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := dlib.DecodeJPEG(tc.data, tc.opts)
			var de *dlib.Error
			if !errors.As(err, &de) || de.Kind != dlib.Decode {
				t.Fatalf("err = %v, want a Decode *Error", err)
			}
		})
	}
}

// FuzzDecodeJPEG feeds libjpeg arbitrary bytes through the same bounds as
// embed.FacesBytes: no crash, no hang, and a success returns the pixels of
// the size the header declared (scaled).
func FuzzDecodeJPEG(f *testing.F) {
	img := testImage(40, 30)
	f.Add(encGo(f, img), uint8(8))
	f.Add(encGo(f, img), uint8(4))
	if p, err := dlib.EncodeJPEG(packRGB(img), 40, 30, 80, false, true); err == nil {
		f.Add(p, uint8(8))
		f.Add(p[:len(p)/2], uint8(2))
	}
	f.Add(testimage.JPEG4(16, 16, 0, func(x, y int) [4]uint8 { return [4]uint8{uint8(x), uint8(y), 9, 200} }), uint8(8))
	f.Add(testimage.JPEG4(16, 16, 2, func(x, y int) [4]uint8 { return [4]uint8{uint8(x), uint8(y), 9, 200} }), uint8(1))
	f.Add([]byte("\xff\xd8\xff\xe0"), uint8(8))
	f.Fuzz(func(t *testing.T, data []byte, num uint8) {
		info, err := dlib.ReadJPEGInfo(data)
		if err != nil {
			return
		}
		if info.Width <= 0 || info.Height <= 0 || int64(info.Width)*int64(info.Height) > 1<<22 {
			return // embed refuses these before decoding
		}
		opts := testOpts
		opts.ScaleNum = int(num%16) + 1
		pix, w, h, err := dlib.DecodeJPEG(data, opts)
		if err != nil {
			return
		}
		if w <= 0 || h <= 0 || len(pix) != w*h*3 {
			t.Fatalf("decoded %dx%d with %d bytes", w, h, len(pix))
		}
		if w > (info.Width*opts.ScaleNum+7)/8 || h > (info.Height*opts.ScaleNum+7)/8 {
			t.Fatalf("decoded %dx%d, header %dx%d at %d/8", w, h, info.Width, info.Height, opts.ScaleNum)
		}
	})
}
