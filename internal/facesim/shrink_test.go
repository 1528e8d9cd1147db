package facesim_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/faceoptout/faceoptout/internal/facesim"
)

func trace(s *mat.SymDense) float64 {
	t := 0.0
	for i := range s.SymmetricDim() {
		t += s.At(i, i)
	}
	return t
}

// lowRank fits a model to dim-dimensional descriptors of 6 people, 3
// samples each: its between-person covariance has rank 5.
func lowRank(t *testing.T, dim int) *facesim.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	var descs [][]float32
	var labels []int
	for p := range 6 {
		c := make([]float32, dim)
		for i := range c {
			c[i] = float32(rng.NormFloat64())
		}
		for range 3 {
			d := make([]float32, dim)
			for i := range d {
				d[i] = c[i] + float32(0.3*rng.NormFloat64())
			}
			descs = append(descs, d)
			labels = append(labels, p)
		}
	}
	m, err := facesim.Fit(descs, labels)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestShrink(t *testing.T) {
	const dim = 32
	m := lowRank(t, dim)
	tests := []struct {
		name  string
		alpha float64
	}{
		{"none", 0},
		{"half", 0.5},
		{"isotropic", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := m.Shrink(tt.alpha)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name     string
				got, was *mat.SymDense
			}{{"between", s.Between(), m.Between()}, {"within", s.Within(), m.Within()}} {
				if g, w := trace(c.got), trace(c.was); math.Abs(g-w) > 1e-9*w {
					t.Errorf("%s trace %g, want %g", c.name, g, w)
				}
				// An off-diagonal entry scales by 1-alpha.
				if g, w := c.got.At(0, 1), (1-tt.alpha)*c.was.At(0, 1); math.Abs(g-w) > 1e-12 {
					t.Errorf("%s[0,1] = %g, want %g", c.name, g, w)
				}
			}
			if g, w := s.Mean()[3], m.Mean()[3]; g != w {
				t.Errorf("mean changed: %g, want %g", g, w)
			}
		})
	}
	for _, bad := range []float64{-0.1, 1.5, math.NaN()} {
		if _, err := m.Shrink(bad); err == nil {
			t.Errorf("Shrink(%v): no error", bad)
		}
	}
}

// TestShrinkNarrowsDistances: on a low-rank fit, shrinking keeps the
// typical different-person distance and narrows its spread (fewer pairs
// far below the median).
func TestShrinkNarrowsDistances(t *testing.T) {
	m := lowRank(t, 64)
	s, err := m.Shrink(0.9)
	if err != nil {
		t.Fatal(err)
	}
	a := m.PairStats(rand.New(rand.NewPCG(1, 2)), 3000)
	b := s.PairStats(rand.New(rand.NewPCG(1, 2)), 3000)
	ma, mb := facesim.Median(a.Diff), facesim.Median(b.Diff)
	if math.Abs(ma-mb) > 0.15*ma {
		t.Errorf("different-person median %.3f, shrunk %.3f: want about the same", ma, mb)
	}
	r := 0.7 * ma
	fa, fb := facesim.FractionWithin(a.Diff, r), facesim.FractionWithin(b.Diff, r)
	t.Logf("different-person pairs within %.3f: %.4f, shrunk %.4f", r, fa, fb)
	if fb >= fa {
		t.Errorf("pairs within 0.7 x median: %.4f fitted, %.4f shrunk: want fewer", fa, fb)
	}
}
