package dlib_test

import (
	"errors"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/embed/internal/dlib"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// shape68Path is Debian libdlib-data's 68-point predictor.
const shape68Path = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"

func TestRegion(t *testing.T) {
	w, err := dlib.LoadHOG()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Free()
	m := testImage(40, 30)
	pix := packRGB(m)
	if err := w.SetImage(pix, 40, 30, 40*3, 3); err != nil {
		t.Fatal(err)
	}
	if got := w.ImageSize(); got != image.Pt(40, 30) {
		t.Fatalf("ImageSize = %v", got)
	}
	tests := []struct {
		name string
		r    image.Rectangle
	}{
		{"inside", image.Rect(5, 7, 20, 19)},
		{"whole image", image.Rect(0, 0, 40, 30)},
		{"across the top left corner", image.Rect(-3, -4, 6, 5)},
		{"across the bottom right corner", image.Rect(35, 25, 45, 33)},
		{"outside", image.Rect(100, 100, 104, 103)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := w.Region(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3*tt.r.Dx()*tt.r.Dy() {
				t.Fatalf("%d bytes", len(got))
			}
			for y := tt.r.Min.Y; y < tt.r.Max.Y; y++ {
				for x := tt.r.Min.X; x < tt.r.Max.X; x++ {
					var want [3]byte
					if image.Pt(x, y).In(m.Rect) {
						c := m.NRGBAAt(x, y)
						want = [3]byte{c.R, c.G, c.B}
					}
					o := 3 * ((y-tt.r.Min.Y)*tt.r.Dx() + x - tt.r.Min.X)
					if [3]byte(got[o:o+3]) != want {
						t.Fatalf("pixel (%d, %d) = %v, want %v", x, y, got[o:o+3], want)
					}
				}
			}
		})
	}
	if _, err := w.Region(image.Rect(0, 0, 0, 5)); err == nil {
		t.Fatal("empty region: no error")
	}
	if _, err := w.Region(image.Rect(0, 0, 1<<14, 1<<14)); err == nil {
		t.Fatal("huge region: no error")
	}
}

func TestLandmarks68(t *testing.T) {
	if _, err := os.Stat(shape68Path); err != nil {
		if testenv.CI() {
			t.Fatalf("CI=true: %s missing: install libdlib-data", shape68Path)
		}
		t.Skipf("%s missing: install libdlib-data", shape68Path)
	}
	sp, err := dlib.LoadShape68(shape68Path)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Free()
	defer sp.Free() // twice is harmless
	w, err := dlib.LoadHOG()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Free()
	if _, err := w.Landmarks68(sp, []image.Rectangle{image.Rect(0, 0, 10, 10)}); err == nil {
		t.Fatal("no image: no error")
	}
	pix, iw, ih := decodeFile(t, filepath.Join(testenv.BBT(t), "bbt1.jpg"))
	if err := w.SetImage(pix, iw, ih, 3*iw, 3); err != nil {
		t.Fatal(err)
	}
	dets, n, _, err := w.Detect(dlib.DetectOptions{Scale: 1, Max: 16})
	if err != nil || n == 0 {
		t.Fatalf("detect: %d faces, %v", n, err)
	}
	rects := make([]image.Rectangle, len(dets))
	for i := range dets {
		rects[i] = dets[i].Rect
	}
	shapes, err := w.Landmarks68(sp, rects)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range shapes {
		near := rects[i].Inset(-rects[i].Dx() / 3)
		for j, p := range s {
			if !p.In(near) {
				t.Errorf("face %d point %d %v far from box %v", i, j, p, rects[i])
			}
		}
		// Eyes above the mouth, left eye left of the right eye.
		if !(s[36].X < s[45].X && s[36].Y < s[48].Y && s[45].Y < s[54].Y) {
			t.Errorf("face %d: implausible shape %v", i, s)
		}
	}
	if got, err := w.Landmarks68(nil, rects); err == nil {
		t.Fatalf("nil predictor: %v", got)
	}
}

func TestLoadShape68Errors(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "sp.dat")
	if err := os.WriteFile(garbage, []byte("not a predictor"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/nonexistent/sp68.dat", garbage} {
		_, err := dlib.LoadShape68(p)
		var de *dlib.Error
		if !errors.As(err, &de) || de.Kind != dlib.Model {
			t.Errorf("%s: err = %v, want a Model *Error", p, err)
		}
	}
}
