package imageutil

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"sync"
	"testing"
)

// photo12MP is a generated 4000x3000 "photo": smooth gradients, blocks of
// detail and sensor-like noise, so that JPEG has real work to do.
var photo12MP = sync.OnceValue(func() *image.NRGBA {
	const w, h = 4000, 3000
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(12, 12))
	for y := range h {
		for x := range w {
			n := int(rng.Uint32()%24) - 12
			r := x*255/w + n
			g := y*255/h + n
			b := ((x/97)^(y/61))&1*120 + (x*y/4096)%100 + n
			i := m.PixOffset(x, y)
			m.Pix[i+0] = uint8(min(max(r, 0), 255))
			m.Pix[i+1] = uint8(min(max(g, 0), 255))
			m.Pix[i+2] = uint8(min(max(b, 0), 255))
			m.Pix[i+3] = 0xff
		}
	}
	return m
})

var jpeg12MP = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, photo12MP(), &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	return b.Bytes()
})

// BenchmarkDecode decodes a 12-megapixel JPEG (4:2:0, quality 90): with
// image/jpeg alone (the baseline), with Decode, and with Decode applying an
// EXIF rotation (orientation 6).
func BenchmarkDecode(b *testing.B) {
	data := jpeg12MP()
	rotated := withJPEGEXIF(data, exifTIFF(6, binary.LittleEndian))
	b.Run("image-jpeg-baseline", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode-orientation6", func(b *testing.B) {
		b.SetBytes(int64(len(rotated)))
		for b.Loop() {
			if _, err := DecodeBytes(rotated); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPHash hashes the decoded 12-megapixel image and a 1024x768 one.
func BenchmarkPHash(b *testing.B) {
	big := photo12MP()
	small := Resize(big, 1024, 768)
	for _, bc := range []struct {
		name string
		m    *image.NRGBA
	}{{"12MP", big}, {"1024x768", small}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				_ = PHash(bc.m)
			}
		})
	}
}

// BenchmarkFit scales the 12-megapixel image to 1600 pixels a side, a
// typical detection size.
func BenchmarkFit(b *testing.B) {
	m := photo12MP()
	for b.Loop() {
		_ = Fit(m, 1600)
	}
}
