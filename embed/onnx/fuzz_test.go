package onnx

import (
	"math"
	"testing"
)

// FuzzAlign: any five landmarks either fail with ErrAlign or give a
// finite, invertible similarity, and warping any image through any finite
// map never panics and gives values in [0, 255].
func FuzzAlign(f *testing.F) {
	f.Add(30.0, 40.0, 70.0, 41.0, 50.0, 60.0, 35.0, 80.0, 66.0, 79.0, uint8(20), uint8(15), uint8(2))
	f.Add(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, uint8(1), uint8(1), uint8(1))
	f.Add(1e300, -1e300, 5.0, 5.0, 1e-300, 0.0, 3.0, 3.0, 2.0, 2.0, uint8(3), uint8(200), uint8(4))
	f.Fuzz(func(t *testing.T, x0, y0, x1, y1, x2, y2, x3, y3, x4, y4 float64, w, h, k uint8) {
		src := []Point{{x0, y0}, {x1, y1}, {x2, y2}, {x3, y3}, {x4, y4}}
		var tmpl []Point
		for _, p := range ArcFaceTemplate {
			tmpl = append(tmpl, Point{p[0], p[1]})
		}
		m, err := FitSimilarity(src, tmpl)
		if err != nil {
			return
		}
		if !finite(m[:]...) {
			t.Fatalf("non-finite transform %v", m)
		}
		inv, err := m.Invert()
		if err != nil {
			return
		}
		iw, ih := int(w%64)+1, int(h%64)+1
		pix := make([]byte, 3*iw*ih)
		for i := range pix {
			pix[i] = byte(i * 37)
		}
		for _, v := range WarpArea(pix, iw, ih, inv, 16, 16, int(k%5)) {
			if math.IsNaN(float64(v)) || v < -1e-3 || v > 255.001 {
				t.Fatalf("value %v out of range", v)
			}
		}
	})
}
