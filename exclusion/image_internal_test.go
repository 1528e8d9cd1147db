package exclusion

import (
	"image"
	"image/color"
	"testing"
)

func TestUnrotate(t *testing.T) {
	b := image.Rect(0, 0, 70, 40)
	box := image.Rect(5, 8, 20, 30)
	img := image.NewNRGBA(b)
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			img.Set(x, y, color.Black)
		}
	}
	for _, deg := range []int{0, 90, 180, 270} {
		t.Run(string(rune('0'+deg/90)), func(t *testing.T) {
			turned := rotate(img, deg)
			var found image.Rectangle
			tb := turned.Bounds()
			for y := tb.Min.Y; y < tb.Max.Y; y++ {
				for x := tb.Min.X; x < tb.Max.X; x++ {
					if r, _, _, _ := turned.At(x, y).RGBA(); r == 0 {
						found = found.Union(image.Rect(x, y, x+1, y+1))
					}
				}
			}
			if deg%180 != 0 && (tb.Dx() != b.Dy() || tb.Dy() != b.Dx()) {
				t.Fatalf("turned bounds %v", tb)
			}
			if got := unrotate(found, b, deg); got != box {
				t.Fatalf("rotation %d: box %v found at %v maps back to %v, want %v", deg, box, found, got, box)
			}
		})
	}
}
