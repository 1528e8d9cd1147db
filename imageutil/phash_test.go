package imageutil

import (
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"testing"

	"github.com/disintegration/imaging"
)

func TestHashText(t *testing.T) {
	tests := []struct {
		h Hash
		s string
	}{
		{0, "0000000000000000"},
		{1, "0000000000000001"},
		{0xfedcba9876543210, "fedcba9876543210"},
		{^Hash(0), "ffffffffffffffff"},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			equal(t, tt.s, tt.h.String())
			h, err := ParseHash(tt.s)
			noError(t, err)
			equal(t, tt.h, h)
			b, err := json.Marshal(map[string]Hash{"h": tt.h})
			noError(t, err)
			equal(t, `{"h":"`+tt.s+`"}`, string(b))
			var back map[string]Hash
			noError(t, json.Unmarshal(b, &back))
			equal(t, tt.h, back["h"])
		})
	}
	for _, bad := range []string{"", "123", "0000000000000000a", "000000000000000g", "-000000000000001"} {
		t.Run("bad/"+bad, func(t *testing.T) {
			if _, err := ParseHash(bad); err == nil {
				t.Fatalf("ParseHash(%q) accepted", bad)
			}
		})
	}
}

func TestHashDistance(t *testing.T) {
	tests := []struct {
		a, b Hash
		want int
	}{
		{0, 0, 0},
		{0, 1, 1},
		{0, ^Hash(0), 64},
		{0xf0f0, 0x0ff0, 8},
	}
	for _, tt := range tests {
		equal(t, tt.want, tt.a.Distance(tt.b), "%v %v", tt.a, tt.b)
		equal(t, tt.want, tt.b.Distance(tt.a), "symmetric")
	}
}

func TestPHashSmallAndOffset(t *testing.T) {
	// Any size works, including images smaller than the 32x32 grid, and
	// bounds not at the origin.
	for _, r := range []image.Rectangle{image.Rect(0, 0, 1, 1), image.Rect(0, 0, 7, 3), image.Rect(-5, 10, 60, 20), {}} {
		m := image.NewNRGBA(r)
		_ = PHash(m)
	}
	a := quadrants(64, 64)
	b := a.SubImage(a.Rect).(*image.NRGBA)
	shifted := &image.NRGBA{Pix: b.Pix, Stride: b.Stride, Rect: b.Rect.Add(image.Pt(100, -50))}
	equal(t, PHash(a), PHash(shifted), "hash depends on bounds origin")
}

// TestPHashPaths: an *image.NRGBA read in place (opaque rows) and any other
// image drawn over white give the same hash for the same pixels.
func TestPHashPaths(t *testing.T) {
	src := photo(96, 80)
	rgba := image.NewRGBA(src.Rect)
	draw.Draw(rgba, rgba.Rect, src, image.Point{}, draw.Src)
	equal(t, PHash(src), PHash(rgba), "NRGBA in place vs RGBA drawn")

	holes := imaging.Clone(src)
	for i := 3; i < len(holes.Pix); i += 4 * 7 {
		holes.Pix[i] = uint8(i % 256) // some rows now have transparency
	}
	equal(t, PHash(ToRGB(holes)), PHash(holes), "transparent NRGBA vs its opaque conversion")
}

// photo is a deterministic image with structure at several scales.
func photo(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := uint8((x*x/7 + y*3 + (x/9^y/11)*40) & 0xff)
			m.SetNRGBA(x, y, color.NRGBA{v, uint8(x * 255 / w), uint8(y * 255 / h), 255})
		}
	}
	return m
}
