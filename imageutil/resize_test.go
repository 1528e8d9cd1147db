package imageutil

import (
	"image"
	"math"
	"testing"
)

func TestFit(t *testing.T) {
	tests := []struct {
		name    string
		w, h    int
		maxSide int
		want    image.Rectangle
		same    bool // the input itself comes back
	}{
		{"landscape", 4000, 3000, 1600, image.Rect(0, 0, 1600, 1200), false},
		{"portrait", 1000, 1501, 500, image.Rect(0, 0, 333, 500), false},
		{"fits", 300, 200, 300, image.Rect(0, 0, 300, 200), true},
		{"never enlarges", 30, 20, 1000, image.Rect(0, 0, 30, 20), true},
		{"thin", 5000, 2, 100, image.Rect(0, 0, 100, 1), false},
		{"maxSide 0 counts as 1", 10, 10, 0, image.Rect(0, 0, 1, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := quadrants(tt.w, tt.h)
			got := Fit(m, tt.maxSide)
			equal(t, tt.want, got.Bounds())
			equal(t, tt.same, got == m, "same image returned")
		})
	}
	t.Run("offset bounds are copied", func(t *testing.T) {
		m := quadrants(40, 40).SubImage(image.Rect(10, 10, 30, 30)).(*image.NRGBA)
		got := Fit(m, 100)
		equal(t, image.Rect(0, 0, 20, 20), got.Bounds())
		isTrue(t, got != m, "a copy at the origin")
	})
	t.Run("downscaled pattern keeps its quadrants", func(t *testing.T) {
		checkQuadrants(t, Fit(quadrants(800, 600), 80), 8)
	})
}

func TestScale(t *testing.T) {
	tests := []struct {
		name   string
		factor float64
		want   image.Rectangle
	}{
		{"half", 0.5, image.Rect(0, 0, 50, 38)},
		{"double", 2, image.Rect(0, 0, 200, 150)},
		{"tiny", 0.001, image.Rect(0, 0, 1, 1)},
		{"one", 1, image.Rect(0, 0, 100, 75)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			equal(t, tt.want, Scale(quadrants(100, 75), tt.factor).Bounds())
		})
	}
	for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		t.Run("panics/"+formatFloat(bad), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatalf("Scale(%v) did not panic", bad)
				}
			}()
			Scale(quadrants(4, 4), bad)
		})
	}
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Inf"
	case f < 0:
		return "negative"
	}
	return "zero"
}

func TestResize(t *testing.T) {
	equal(t, image.Rect(0, 0, 64, 48), Resize(quadrants(640, 480), 64, 0).Bounds())
	equal(t, image.Rect(0, 0, 10, 10), Resize(quadrants(640, 480), 10, 10).Bounds())
	equal(t, image.Rectangle{}, Resize(quadrants(640, 480), -1, 10).Bounds())
}
