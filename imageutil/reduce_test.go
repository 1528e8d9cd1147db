package imageutil

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// randomImages returns w x h images of every type convertInPlace handles,
// with random colours and alpha (some pixels opaque, some transparent).
func randomImages(w, h int, seed uint64) map[string]image.Image {
	rng := rand.New(rand.NewPCG(seed, 1))
	r := image.Rect(0, 0, w, h)
	rgba, nrgba, rgba64, nrgba64 := image.NewRGBA(r), image.NewNRGBA(r), image.NewRGBA64(r), image.NewNRGBA64(r)
	for y := range h {
		for x := range w {
			a := uint8(rng.Uint32())
			switch rng.IntN(3) {
			case 0:
				a = 0xff
			case 1:
				a = 0
			}
			c := color.NRGBA{uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32()), a}
			rgba.Set(x, y, c)
			nrgba.SetNRGBA(x, y, c)
			c64 := color.NRGBA64{uint16(rng.Uint32()), uint16(rng.Uint32()), uint16(rng.Uint32()), uint16(a)<<8 | uint16(rng.Uint32()&0xff)}
			if a == 0xff {
				c64.A = 0xffff
			}
			rgba64.Set(x, y, c64)
			nrgba64.SetNRGBA64(x, y, c64)
		}
	}
	return map[string]image.Image{"rgba": rgba, "nrgba": nrgba, "rgba64": rgba64, "nrgba64": nrgba64}
}

// TestConvertInPlaceMatchesConvert: the in-place conversion gives the same
// bytes as the banded copy through image/draw, for every type and
// orientation, and shares the decoder's pixels.
func TestConvertInPlaceMatchesConvert(t *testing.T) {
	const w, h = 37, 23
	for name := range randomImages(w, h, 1) {
		for o := 1; o <= 8; o++ {
			t.Run(fmt.Sprintf("%s/%d", name, o), func(t *testing.T) {
				want := convert(randomImages(w, h, 1)[name], image.Rect(0, 0, w, h), o)
				src := randomImages(w, h, 1)[name]
				m, ok := convertInPlace(src, image.Rect(0, 0, w, h))
				isTrue(t, ok, "not converted in place")
				got := orientInPlace(m, o)
				equal(t, want.Rect, got.Rect)
				equal(t, want.Stride, got.Stride)
				for i := range want.Pix {
					if want.Pix[i] != got.Pix[i] {
						t.Fatalf("byte %d (pixel %d): in place %d, convert %d", i, i/4, got.Pix[i], want.Pix[i])
					}
				}
				var first *uint8
				switch s := src.(type) {
				case *image.RGBA:
					first = &s.Pix[0]
				case *image.NRGBA:
					first = &s.Pix[0]
				case *image.RGBA64:
					first = &s.Pix[0]
				case *image.NRGBA64:
					first = &s.Pix[0]
				}
				isTrue(t, first == &got.Pix[0], "result does not share the decoder's pixels")
			})
		}
	}
	t.Run("refused", func(t *testing.T) {
		for _, img := range []image.Image{
			image.NewGray(image.Rect(0, 0, 4, 4)),
			image.NewRGBA(image.Rect(1, 1, 5, 5)),
			image.NewRGBA(image.Rect(0, 0, 8, 8)).SubImage(image.Rect(0, 0, 4, 4)),
		} {
			_, ok := convertInPlace(img, img.Bounds())
			isTrue(t, !ok, "%T %v converted in place", img, img.Bounds())
		}
	})
}

func TestReduction(t *testing.T) {
	tests := []struct {
		name   string
		w, h   int
		budget int64
		want   int
	}{
		{"no budget", 6000, 6000, 0, 1},
		{"within", 4000, 3000, 12_000_000, 1},
		{"36MP to 12MP", 6000, 6000, 12_000_000, 2},
		{"36MP to 4MP", 6000, 6000, 4_000_000, 3},
		{"odd sides", 7, 5, 6, 3},
		{"one pixel", 65535, 600, 1, 65535},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			equal(t, tt.want, reduction(tt.w, tt.h, tt.budget))
		})
	}
}

// TestReduce checks every pixel of a reduced image against the mean of its
// block computed from the full-size conversion (edge blocks included),
// within 1 for rounding.
func TestReduce(t *testing.T) {
	const w, h = 53, 29
	images := randomImages(w, h, 2)
	// Opaque sources, which reduce reads without converting.
	opaqueN := image.NewNRGBA(image.Rect(0, 0, w, h))
	opaqueR := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range opaqueN.Pix {
		v := uint8(rng.Uint32())
		if i%4 == 3 {
			v = 0xff
		}
		opaqueN.Pix[i], opaqueR.Pix[i] = v, v
	}
	images["opaque-nrgba"], images["opaque-rgba"] = opaqueN, opaqueR
	for name, img := range images {
		full := convert(img, img.Bounds(), 1)
		for _, k := range []int{2, 3, 7, 20, 60} {
			t.Run(fmt.Sprintf("%s/k=%d", name, k), func(t *testing.T) {
				got := reduce(img, img.Bounds(), k)
				if sh := Shrink(img, k); !bytes.Equal(sh.Pix, got.Pix) || sh.Rect != got.Rect {
					t.Fatalf("Shrink(img, %d) differs from reduce", k)
				}
				rw, rh := (w+k-1)/k, (h+k-1)/k
				equal(t, image.Rect(0, 0, rw, rh), got.Rect)
				for ry := range rh {
					for rx := range rw {
						var s [3]int
						n := 0
						for y := ry * k; y < min(h, ry*k+k); y++ {
							for x := rx * k; x < min(w, rx*k+k); x++ {
								c := full.NRGBAAt(x, y)
								s[0] += int(c.R)
								s[1] += int(c.G)
								s[2] += int(c.B)
								n++
							}
						}
						want := color.NRGBA{uint8((s[0] + n/2) / n), uint8((s[1] + n/2) / n), uint8((s[2] + n/2) / n), 255}
						if c := got.NRGBAAt(rx, ry); !near(c, want, 0) {
							t.Fatalf("(%d,%d) = %v, want %v", rx, ry, c, want)
						}
					}
				}
			})
		}
	}
}

// TestShrinkByOne: k <= 1 returns the image itself when it is an NRGBA at
// the origin, an equal NRGBA copy otherwise.
func TestShrinkByOne(t *testing.T) {
	n := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range n.Pix {
		n.Pix[i] = uint8(40 * i)
	}
	for _, k := range []int{1, 0, -2} {
		if got := Shrink(n, k); got != n {
			t.Errorf("Shrink(nrgba, %d) made a copy", k)
		}
	}
	r := image.NewRGBA(image.Rect(4, 5, 7, 7))
	for i := range r.Pix {
		r.Pix[i] = 0xff
	}
	got := Shrink(r, 1)
	if got.Rect != image.Rect(0, 0, 3, 2) {
		t.Fatalf("Shrink(rgba off the origin, 1): bounds %v", got.Rect)
	}
	for i, v := range got.Pix {
		if v != 0xff {
			t.Fatalf("Shrink(rgba, 1): byte %d = %d, want 255", i, v)
		}
	}
}

// TestDecodePixelBudget decodes the quadrant pattern of every format with
// a budget, with and without orientation.
func TestDecodePixelBudget(t *testing.T) {
	const w, h = 120, 80
	for format, data := range formatSamplesSized(t, w, h) {
		t.Run(format, func(t *testing.T) {
			m, err := DecodeBytes(data, WithPixelBudget(w*h/4))
			noError(t, err)
			equal(t, 2, m.Reduction)
			equal(t, image.Rect(0, 0, w/2, h/2), m.Bounds())
			equal(t, [2]int{w, h}, [2]int{m.SourceWidth, m.SourceHeight})
			checkOpaque(t, m.RGB)
			checkQuadrants(t, m.RGB, 40)

			m, err = DecodeBytes(data, WithPixelBudget(w*h))
			noError(t, err)
			equal(t, 1, m.Reduction)
			equal(t, image.Rect(0, 0, w, h), m.Bounds())
		})
	}
	t.Run("png/orientation 6", func(t *testing.T) {
		m, err := DecodeBytes(withPNGEXIF(encPNG(t, quadrants(w, h)), exifTIFF(6, binary.BigEndian)), WithPixelBudget(40*27))
		noError(t, err)
		equal(t, 3, m.Reduction)
		dw, dh := 27, 40 // ceil(80/3) x 120/3, turned
		equal(t, image.Rect(0, 0, dw, dh), m.Bounds())
		want := displayQuadrants[6]
		for i, p := range []image.Point{{dw / 4, dh / 4}, {3 * dw / 4, dh / 4}, {dw / 4, 3 * dh / 4}, {3 * dw / 4, 3 * dh / 4}} {
			if got := m.RGB.NRGBAAt(p.X, p.Y); !near(got, want[i], 0) {
				t.Errorf("quadrant %d at %v = %v, want %v", i, p, got, want[i])
			}
		}
	})
}

// TestDecodeMemoryLimit: a file whose decode would hold more pixel memory
// than Limits.MaxMemory is refused before decoding, and accepted with a
// pixel budget that makes the result small enough.
func TestDecodeMemoryLimit(t *testing.T) {
	const w, h = 400, 300
	src := quadrants(w, h)
	g16 := image.NewGray16(src.Rect)
	tests := []struct {
		name string
		data []byte
		// full is the estimate at full size.
		full int64
	}{
		// PNG streams: the result, two raw rows and one converted row.
		{"png/rgb", encPNG(t, src), 4*w*h + 2*(1+3*w) + 3*w},
		{"png/gray16", encPNG(t, g16), 4*w*h + 2*(1+2*w) + 3*w},
		{"jpeg/4:2:0", encJPEG(t, src, 90), (400*304 + 2*200*152) + 4*w*h},
		{"gif", encGIF(t, image.NewPaletted(src.Rect, color.Palette{color.Black})), w*h + 4*w*h},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeBytes(tt.data, WithLimits(Limits{MaxMemory: tt.full}))
			noError(t, err)
			_, err = DecodeBytes(tt.data, WithLimits(Limits{MaxMemory: tt.full - 1}))
			le := limitError(t, err)
			equal(t, LimitMemory, le.Limit)
			equal(t, tt.full, le.Value)
			equal(t, [2]int{w, h}, [2]int{le.Width, le.Height})
		})
	}
}
