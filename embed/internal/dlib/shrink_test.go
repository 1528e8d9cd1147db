package dlib_test

import (
	"bytes"
	"image"
	"math/rand/v2"
	"testing"

	"github.com/faceoptout/faceoptout/embed/internal/dlib"
	"github.com/faceoptout/faceoptout/imageutil"
)

// TestShrinkMatchesImageutil: a worker's image shrunk by k has the bytes
// imageutil.Shrink gives for the same pixels, edge blocks included.
func TestShrinkMatchesImageutil(t *testing.T) {
	w, err := dlib.LoadHOG()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Free()
	if _, err := w.Shrink(2); err == nil {
		t.Fatal("Shrink without an image: no error")
	}
	const iw, ih = 53, 29
	m := image.NewNRGBA(image.Rect(0, 0, iw, ih))
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range m.Pix {
		m.Pix[i] = uint8(rng.Uint32())
		if i%4 == 3 {
			m.Pix[i] = 0xff
		}
	}
	if err := w.SetImage(m.Pix, iw, ih, m.Stride, 4); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, 1, 2, 3, 7, 20, 60} {
		got, err := w.Shrink(k)
		if err != nil {
			t.Fatalf("k=%d: %v", k, err)
		}
		want := imageutil.Shrink(m, k)
		if got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
			t.Fatalf("k=%d: %v image differs from imageutil.Shrink's %v", k, got.Rect, want.Rect)
		}
	}
}
