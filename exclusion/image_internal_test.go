package exclusion

import (
	"context"
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/imageutil"
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

// Hooks for the external tests of abandoned image checks (image_test.go).

// SetDecodeCheck replaces the decode of the Filter's own scans (the path of
// an embedder that is not a BytesEmbedder) until the returned function
// restores it. It waits for abandoned checks to end first, so that none
// reads the hook while it changes.
func SetDecodeCheck(t testing.TB, f func(context.Context, []byte, ...imageutil.Option) (*imageutil.Image, error)) (restore func()) {
	t.Helper()
	WaitAbandoned(t)
	old := decodeCheck
	decodeCheck = f
	return func() {
		WaitAbandoned(t)
		decodeCheck = old
	}
}

// AbandonedChecks returns how many abandoned image checks still run.
func AbandonedChecks() int64 { return abandoned.Load() }

// MaxAbandoned is maxAbandoned.
const MaxAbandoned = maxAbandoned

// WaitAbandoned waits until no abandoned image check runs.
func WaitAbandoned(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for abandoned.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d abandoned image checks still run after 5 minutes", abandoned.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
