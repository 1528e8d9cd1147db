package index

import (
	"math"
)

// The int8 shadow of a Flat index.
//
// Every row v is also stored as int8 codes c with v ≈ mean + scale·c, and
// with e_v, an upper bound of the quantisation error ‖v − (mean + scale·c)‖
// computed in float64 and rounded up. A query q is quantised the same way
// (codes widened to int16, error e_q). By the triangle inequality
//
//	‖q − v‖ ≥ scale·‖c_q − c_v‖ − e_q − e_v,
//
// so a row whose integer distance ‖c_q − c_v‖² (exact, from an integer
// dot product) puts that bound above r (plus a margin for float32 rounding
// in the final distance) cannot be within r and is skipped; every other row
// is re-checked with the float32 distance, which alone decides. The answer
// is therefore the same set with the same distances as a float32 scan:
// exact by construction, whatever the data and the scale.
//
// The scan streams 128 bytes per 128-D row instead of 512, and a batch of
// queries reuses each block of codes for four queries at a time.

const (
	quantMax = 127 // codes are in [-quantMax, quantMax]
	// quantMaxStride bounds the padded dimension for which the shadow is
	// used: int32 dot products and norms cannot overflow below it.
	quantMaxStride = 1 << 14
	// rederiveUpTo: Add re-derives mean and scale from all rows each time
	// the index doubles, up to this many rows; later only when added
	// vectors fall outside the codes' range.
	rederiveUpTo = 1 << 16
)

// shadow is guarded by the owning Flat's mu.
type shadow struct {
	dim, stride int       // stride: dim rounded up to 16; codes past dim are 0
	mean        []float64 // subtracted before quantising
	scale       float64   // quantisation step (> 0, finite)
	codes       []int8    // row i is codes[i*stride:(i+1)*stride]
	norms       []int32   // norms[i] = Σ_j codes[i*stride+j]², exact
	errs        []float32 // errs[i]·scale ≥ the row's quantisation error
	emax        float32   // ≥ every errs[i] (not lowered by Delete)
	rows        int       // rows covered; the shadow is fresh when rows == len(ids)
	derivedAt   int       // rows when mean and scale were last derived
	clamped     bool      // a row added since derivedAt needed clamping
}

func newShadow(dim int) shadow {
	return shadow{dim: dim, stride: (dim + 15) &^ 15, scale: 1, mean: make([]float64, dim)}
}

// usable reports whether the shadow scan applies to this dimension.
func (s *shadow) usable() bool { return s.stride <= quantMaxStride }

// roundUp32 returns the smallest float32 >= x (x >= 0, possibly +Inf).
func roundUp32(x float64) float32 {
	f := float32(x)
	if float64(f) < x {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}

// quantise writes the codes of v to dst (len stride, zero-padded) and
// returns Σ codes², the error bound in units of scale (rounded up), and
// whether a component had to be clamped.
func (s *shadow) quantise(v []float32, dst []int8) (norm int32, err float32, clamped bool) {
	var sum, mag float64
	inv := 1 / s.scale
	for j, x := range v {
		y := float64(x) - s.mean[j]
		c := math.Round(y * inv)
		if c > quantMax {
			c, clamped = quantMax, true
		} else if c < -quantMax {
			c, clamped = -quantMax, true
		}
		dst[j] = int8(c)
		norm += int32(c) * int32(c)
		e := float64(x) - (s.mean[j] + s.scale*c)
		sum += e * e
		mag += math.Abs(float64(x)) + math.Abs(s.mean[j])
	}
	clear(dst[len(v):])
	// Rounding in the float64 arithmetic above is far below 1e-14·mag per
	// component; the relative factor covers sqrt and the division.
	e := (math.Sqrt(sum) + 1e-14*mag) / s.scale * (1 + 1e-9)
	return norm, roundUp32(e), clamped
}

// quantiseQuery is quantise for a query, with int16 codes.
func (s *shadow) quantiseQuery(q []float32, dst []int16, tmp []int8) (norm int32, err float32) {
	norm, err, _ = s.quantise(q, tmp)
	for j, c := range tmp[:s.stride] {
		dst[j] = int16(c)
	}
	return norm, err
}

// derive chooses mean and scale from the rows of data (dim values each) and
// re-quantises them all.
func (s *shadow) derive(data []float32, n int) {
	dim := s.dim
	mean := make([]float64, dim)
	for i := range n {
		for j, x := range data[i*dim : (i+1)*dim] {
			mean[j] += float64(x)
		}
	}
	if n > 0 {
		for j := range mean {
			mean[j] /= float64(n)
		}
	}
	var maxAbs float64
	for i := range n {
		for j, x := range data[i*dim : (i+1)*dim] {
			maxAbs = max(maxAbs, math.Abs(float64(x)-mean[j]))
		}
	}
	s.mean = mean
	s.scale = maxAbs / quantMax
	if !(s.scale > 0) || math.IsInf(s.scale, 0) || s.scale < 1e-300 {
		s.scale = 1
	}
	s.codes = s.codes[:0]
	s.norms = s.norms[:0]
	s.errs = s.errs[:0]
	s.emax, s.rows, s.derivedAt, s.clamped = 0, 0, n, false
	s.codes = growLen(s.codes, n*s.stride)
	s.norms = growLen(s.norms, n)
	s.errs = growLen(s.errs, n)
	for i := range n {
		nm, e, _ := s.quantise(data[i*dim:(i+1)*dim], s.codes[i*s.stride:(i+1)*s.stride])
		s.norms[i], s.errs[i] = nm, e
		s.emax = max(s.emax, e)
	}
	s.rows = n
}

func growLen[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// add appends the row v (the rows-th); data holds every row including v.
func (s *shadow) add(v []float32, data []float32) {
	n := s.rows + 1
	if n >= 2*s.derivedAt && (s.derivedAt < rederiveUpTo || s.clamped) {
		s.derive(data, n)
		return
	}
	s.codes = append(s.codes, make([]int8, s.stride)...)
	nm, e, cl := s.quantise(v, s.codes[s.rows*s.stride:])
	s.norms = append(s.norms, nm)
	s.errs = append(s.errs, e)
	s.emax = max(s.emax, e)
	s.clamped = s.clamped || cl
	s.rows = n
}

// remove moves the last row into row i and drops the last.
func (s *shadow) remove(i int) {
	last := s.rows - 1
	if i != last {
		copy(s.codes[i*s.stride:(i+1)*s.stride], s.codes[last*s.stride:])
		s.norms[i] = s.norms[last]
		s.errs[i] = s.errs[last]
	}
	s.codes = s.codes[:last*s.stride]
	s.norms = s.norms[:last]
	s.errs = s.errs[:last]
	s.rows = last
}

// probe is one quantised query.
type probe struct {
	norm int64   // ‖c_q‖²
	rad  float64 // (r + float32 margin)/scale + e_q, in code units
	// lim: rows with ‖c_v‖² − 2·c_q·c_v > lim are skipped (their integer
	// distance exceeds (rad + emax)²).
	lim int64
}

// prepare quantises q into codes (len stride) for radius r.
func (s *shadow) prepare(q []float32, r float32, codes []int16, tmp []int8) probe {
	norm, eq := s.quantiseQuery(q, codes, tmp)
	// The float32 distance the answer is decided on may be below the true
	// distance by a relative (dim+2)·2⁻²⁴ (sums of non-negative terms) and,
	// from underflow, an absolute amount far below 1e-20.
	margin := float64(s.dim+8) * 0x1p-23
	rad := ((float64(r)*(1+margin)+1e-20)/s.scale + float64(eq)) * (1 + 1e-12)
	p := probe{norm: int64(norm), rad: rad}
	t := (rad + float64(s.emax)) * (1 + 1e-12)
	if t2 := t * t * (1 + 1e-12); t2 < 1<<62 {
		p.lim = int64(t2) - p.norm
	} else {
		p.lim = math.MaxInt64
	}
	return p
}

// keep reports whether row i must be re-checked in float32, given the
// dot product of its codes with the probe's.
func (s *shadow) keep(p *probe, i int, dot int32) bool {
	dm := int64(s.norms[i]) - 2*int64(dot)
	if dm > p.lim {
		return false
	}
	t := (p.rad + float64(s.errs[i])) * (1 + 1e-12)
	return float64(dm+p.norm) <= t*t*(1+1e-12)
}
