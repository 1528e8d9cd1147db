package onnx

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/faceoptout/faceoptout/internal/testenv"
)

// TestDenormalsFlushed: the feature model's descriptors of real faces are
// the same, within float rounding, whether denormals are flushed to zero
// (session.run, the embedder's path) or not (the session run directly on a
// thread with the default floating-point settings), at the default and at
// the full graph optimisation level. Registries enrolled either way stay
// comparable.
func TestDenormalsFlushed(t *testing.T) {
	dir, cfg := runtimeForTest(t)
	m := cfg.Model
	shape := ort.NewShape(1, 3, int64(m.Size), int64(m.Size))
	open := func(opt Optimization) *session {
		s, err := newSession(filepath.Join(dir, m.File), m.Input, m.Output, shape, m.Dim, 1, opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.destroy)
		return s
	}
	plain, all := open(OptimizeNone), open(OptimizeAll)
	// describe fills s's input with the face, runs it with run and returns
	// the unit descriptor.
	describe := func(s *session, face []float32, run func() error) []float64 {
		copy(s.in.GetData(), face)
		if err := run(); err != nil {
			t.Fatal(err)
		}
		out := s.out.GetData()
		d := make([]float64, len(out))
		var n float64
		for i, v := range out {
			d[i] = float64(v)
			n += d[i] * d[i]
		}
		for i := range d {
			d[i] /= math.Sqrt(n)
		}
		return d
	}
	dist := func(a, b []float64) float64 {
		var s float64
		for i := range a {
			s += (a[i] - b[i]) * (a[i] - b[i])
		}
		return math.Sqrt(s)
	}
	files, err := filepath.Glob(filepath.Join(testenv.BBT(t), "*", "*1.png"))
	if err != nil || len(files) < 8 {
		t.Fatalf("bbt crops: %d, %v", len(files), err)
	}
	// tol is far below the distances that decide (thresholds near 1).
	const tol = 1e-4
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			img, err := imaging.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			chip := imaging.Resize(img, m.Size, m.Size, imaging.Linear)
			n := m.Size * m.Size
			face := make([]float32, 3*n)
			for i := range n {
				for c := range 3 {
					face[c*n+i] = (float32(chip.Pix[4*i+c]) - m.Mean[c]) * m.Scale[c]
				}
			}
			want := describe(plain, face, plain.s.Run)
			for _, c := range []struct {
				name string
				s    *session
			}{{"stored graph", plain}, {"optimised graph", all}} {
				d := dist(want, describe(c.s, face, c.s.run))
				if !(d < tol) {
					t.Errorf("%s, denormals flushed: %.3g from the unflushed descriptor, want < %g", c.name, d, tol)
				}
			}
		})
	}
}
