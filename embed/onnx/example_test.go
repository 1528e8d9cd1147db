package onnx_test

import (
	"fmt"

	"github.com/faceoptout/faceoptout/embed/onnx"
)

// FitSimilarity maps five landmarks onto the ArcFace template; the chip
// is then sampled through the inverse map.
func ExampleFitSimilarity() {
	var tmpl []onnx.Point
	for _, p := range onnx.ArcFaceTemplate {
		tmpl = append(tmpl, onnx.Point{X: p[0], Y: p[1]})
	}
	// A face twice the template's size, 100 px right and 40 px down.
	var face []onnx.Point
	for _, p := range tmpl {
		face = append(face, onnx.Point{X: 2*p.X + 100, Y: 2*p.Y + 40})
	}
	m, err := onnx.FitSimilarity(face, tmpl)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("scale %.2f, rotation %.2f, translation (%.1f, %.1f)\n", m[0], m[3], m[2], m[5])
	inv, _ := m.Invert()
	c := inv.Apply(onnx.Point{X: 56, Y: 56})
	fmt.Printf("chip centre from image point (%.0f, %.0f)\n", c.X, c.Y)
	// Output:
	// scale 0.50, rotation 0.00, translation (-50.0, -20.0)
	// chip centre from image point (212, 152)
}
