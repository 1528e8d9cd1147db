package facesim

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Shrink returns a model whose between- and within-person covariances are
// each moved towards an isotropic one of the same trace:
// (1-alpha)·C + alpha·(trace(C)/dim)·I, for alpha in [0, 1]. The mean is
// unchanged, and so is the expected squared distance of every kind of
// pair (it is twice the traces' sum).
//
// Fit estimates the between-person covariance from one mean per person,
// so it has rank below the number of people; with fewer people than
// dimensions (40 people of 512-D descriptors), every sampled centre lies
// near one low-dimensional subspace and different-person distances spread
// more widely than real ones. Shrink spreads the same variance over every
// dimension.
func (m *Model) Shrink(alpha float64) (*Model, error) {
	if !(alpha >= 0 && alpha <= 1) {
		return nil, fmt.Errorf("%w: shrink factor %v not in [0, 1]", ErrData, alpha)
	}
	return newModel(append([]float64(nil), m.mean...), shrinkSym(m.between, alpha), shrinkSym(m.within, alpha))
}

// shrinkSym returns (1-alpha)·s + alpha·(trace(s)/n)·I.
func shrinkSym(s *mat.SymDense, alpha float64) *mat.SymDense {
	n := s.SymmetricDim()
	tr := 0.0
	for i := range n {
		tr += s.At(i, i)
	}
	out := mat.NewSymDense(n, nil)
	out.ScaleSym(1-alpha, s)
	if v := alpha * tr / float64(n); v > 0 && !math.IsInf(v, 0) {
		for i := range n {
			out.SetSym(i, i, out.At(i, i)+v)
		}
	}
	return out
}
