package index

import (
	"math"
	"slices"
	"sync"
)

// The int8 shadow of a Flat index.
//
// Every row v is also stored as 8-bit codes c with v ≈ mean + scale·c
// (mean and scale derived from the data), together with e_v, an upper
// bound of the quantisation error ‖v − (mean + scale·c)‖ computed in
// float64 and rounded up. A query q is quantised at half that resolution,
// q ≈ mean + 2·scale·c_q with c_q in [-63, 63] (so that the AVX2 kernel's
// VPMADDUBSW cannot saturate), error e_q. By the triangle inequality
//
//	‖q − v‖ ≥ ‖q̂ − v̂‖ − e_q − e_v,
//
// where ‖q̂ − v̂‖² = scale²·(4‖c_q‖² + ‖c‖² − 4·c_q·c) comes exactly from
// integer arithmetic. A row whose codes put that bound above r (plus a
// margin for the float32 rounding of the final distance) cannot be within r
// and is skipped; every other row is re-checked with the float32 distance,
// which alone decides. The answer is therefore the same set with the same
// distances as a float32 scan: exact by construction, whatever the data,
// the mean and the scale (a poor scale only costs speed).
//
// A scan streams 128 bytes per 128-D row instead of 512, and a batch
// compares each block of codes, while it is in cache, with four queries at
// a time.

const (
	rowMax   = 127 // row codes are in [-rowMax, rowMax], stored plus 128
	queryMax = 63  // query codes are in [-queryMax, queryMax], step 2·scale
	// quantMaxStride bounds the padded dimension for which the shadow is
	// used: the kernels' int32 sums cannot overflow below it.
	quantMaxStride = 1 << 14
	// rederiveUpTo: Add re-derives mean and scale from all rows each time
	// the index doubles, up to this many rows; later only when added
	// vectors fall outside the codes' range.
	rederiveUpTo = 1 << 16
)

// shadow is guarded by the owning Flat's mu.
type shadow struct {
	dim, stride int       // stride: dim rounded up to 32; codes past dim are 0
	mean        []float64 // subtracted before quantising
	scale       float64   // row quantisation step (> 0, finite)
	codes       []uint8   // row i is codes[i*stride:(i+1)*stride], code+128
	norms       []int32   // norms[i] = Σ_j code², exact
	errs        []float32 // errs[i]·scale ≥ the row's quantisation error
	emax        float32   // ≥ every errs[i] (not lowered by Delete)
	rows        int       // rows covered; the shadow is fresh when rows == len(ids)
	derivedAt   int       // rows when mean and scale were last derived
	clamped     bool      // a row added since derivedAt needed clamping
}

func newShadow(dim int) shadow {
	return shadow{dim: dim, stride: (dim + 31) &^ 31, scale: 1, mean: make([]float64, dim)}
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

// quantise writes the codes of v (step·c ≈ v − mean, c in [-lim, lim]),
// as stored row codes (plus 128) to rdst or as query codes to qdst (the
// other nil; either has len stride and is padded with zero codes), and
// returns Σ c², Σ c, the error bound ‖v − (mean + step·c)‖ in units of
// s.scale rounded up, and whether a component was clamped.
func (s *shadow) quantise(v []float32, step, lim float64, rdst []uint8, qdst []int8) (norm, sum int64, err float32, clamped bool) {
	var sq, mag float64
	inv := 1 / step
	mean := s.mean[:len(v)]
	for j, x := range v {
		y := float64(x) - mean[j]
		t := y * inv
		if t > lim {
			t, clamped = lim, true
		} else if t < -lim {
			t, clamped = -lim, true
		}
		c := int32(t+(rowMax+1.5)) - (rowMax + 1) // t+128.5 > 0 truncates to floor; any rounding will do: the error is measured
		if rdst != nil {
			rdst[j] = uint8(c + 128)
		} else {
			qdst[j] = int8(c)
		}
		norm += int64(c) * int64(c)
		sum += int64(c)
		e := float64(x) - (mean[j] + step*float64(c))
		sq += e * e
		mag += math.Abs(float64(x)) + math.Abs(mean[j])
	}
	if rdst != nil {
		for j := len(v); j < len(rdst); j++ {
			rdst[j] = 128
		}
	} else {
		clear(qdst[len(v):])
	}
	// Rounding in the float64 arithmetic above is far below 1e-14·mag per
	// component; the relative factor covers sqrt and the division.
	e := (math.Sqrt(sq) + 1e-14*mag) / s.scale * (1 + 1e-9)
	return norm, sum, roundUp32(e), clamped
}

// quantiseRow writes the stored codes of v to dst (len stride).
func (s *shadow) quantiseRow(v []float32, dst []uint8) (norm int32, err float32, clamped bool) {
	n, _, err, clamped := s.quantise(v, s.scale, rowMax, dst[:s.stride], nil)
	return int32(n), err, clamped
}

// derive chooses mean and scale from the rows of data (dim values each) and
// re-quantises them all, on up to nw goroutines.
func (s *shadow) derive(data []float32, n, nw int) {
	dim := s.dim
	nw = max(1, min(nw, n/(1<<14)))
	// Per-worker partial sums and maxima over row ranges.
	sums := make([][]float64, nw)
	parallel(n, nw, func(w, lo, hi int) {
		sum := make([]float64, dim)
		for i := lo; i < hi; i++ {
			for j, x := range data[i*dim : (i+1)*dim] {
				sum[j] += float64(x)
			}
		}
		sums[w] = sum
	})
	mean := make([]float64, dim)
	for _, sum := range sums {
		for j, x := range sum {
			mean[j] += x
		}
	}
	if n > 0 {
		for j := range mean {
			mean[j] /= float64(n)
		}
	}
	maxes := make([]float64, nw)
	parallel(n, nw, func(w, lo, hi int) {
		var m float64
		for i := lo; i < hi; i++ {
			for j, x := range data[i*dim : (i+1)*dim] {
				// |x - mean| without math.Abs and max's NaN handling
				// (rows are finite): the hot loop of a bulk load.
				if d := float64(x) - mean[j]; d > m {
					m = d
				} else if -d > m {
					m = -d
				}
			}
		}
		maxes[w] = m
	})
	s.mean = mean
	s.scale = slices.Max(maxes) / rowMax
	if !(s.scale > 1e-300) || math.IsInf(s.scale, 0) {
		s.scale = 1
	}
	s.emax, s.rows, s.derivedAt, s.clamped = 0, 0, n, false
	s.codes = growLen(s.codes, n*s.stride)
	s.norms = growLen(s.norms, n)
	s.errs = growLen(s.errs, n)
	emax := make([]float32, nw)
	parallel(n, nw, func(w, lo, hi int) {
		var m float32
		for i := lo; i < hi; i++ {
			nm, e, _ := s.quantiseRow(data[i*dim:(i+1)*dim], s.codes[i*s.stride:(i+1)*s.stride])
			s.norms[i], s.errs[i] = nm, e
			m = max(m, e)
		}
		emax[w] = m
	})
	s.emax = slices.Max(emax)
	s.rows = n
}

// parallel calls fn(w, lo, hi) for nw ranges splitting [0, n), on nw
// goroutines when nw > 1, and waits for them.
func parallel(n, nw int, fn func(w, lo, hi int)) {
	if nw <= 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lo, hi := split(n, nw, w)
			fn(w, lo, hi)
		}()
	}
	wg.Wait()
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
		s.derive(data, n, 1)
		return
	}
	s.codes = append(s.codes, make([]uint8, s.stride)...)
	nm, e, cl := s.quantiseRow(v, s.codes[s.rows*s.stride:])
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

// probe is one quantised query: codes c_q with q ≈ mean + 2·scale·c_q.
// In units of scale, the squared distance between the dequantised query and
// row i is D = 4‖c_q‖² + ‖c_i‖² − 4·c_q·c_i, an exact integer.
type probe struct {
	nq4  int64   // 4‖c_q‖²
	sumq int64   // Σ c_q (the stored row codes carry +128)
	rad  float64 // (r + float32 margin)/scale + e_q/scale
	// lim: the kernels keep row i when norms[i] − 4·(c_q·stored_i) <= lim,
	// that is when D <= (rad + emax)², rounded so as never to drop a row.
	lim int32
}

// prepare quantises q into codes (len stride) for radius r.
func (s *shadow) prepare(q []float32, r float32, codes []int8) probe {
	codes = codes[:s.stride]
	norm, sumq, eq, _ := s.quantise(q, 2*s.scale, queryMax, nil, codes)
	// The float32 distance the answer is decided on may be below the true
	// distance by a relative (dim+2)·2⁻²⁴ (sums of non-negative terms) and,
	// from underflow, an absolute amount far below 1e-20.
	margin := float64(s.dim+8) * 0x1p-23
	rad := ((float64(r)*(1+margin)+1e-20)/s.scale + float64(eq)) * (1 + 1e-12)
	p := probe{nq4: 4 * norm, sumq: sumq, rad: rad}
	// D = nq4 + norms[i] − 4·(c_q·stored_i − 128·sumq).
	t := (rad + float64(s.emax)) * (1 + 1e-12)
	lim := int64(math.MaxInt32)
	if t2 := t * t * (1 + 1e-12); t2 < 1<<40 {
		lim = min(lim, int64(t2)-p.nq4-512*sumq)
	}
	p.lim = int32(max(lim, math.MinInt32))
	return p
}

// keep reports whether row i, kept by the kernel, must be re-checked in
// float32: the same test as the kernel's with the row's own error bound.
func (s *shadow) keep(p *probe, codes []int8, i int) bool {
	row := s.codes[i*s.stride : (i+1)*s.stride]
	d := p.nq4 + int64(s.norms[i]) - 4*(int64(dotU8(codes, row))-128*p.sumq)
	t := (p.rad + float64(s.errs[i])) * (1 + 1e-12)
	return float64(d) <= t*t*(1+1e-12)
}
