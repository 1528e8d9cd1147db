package evaluation

import (
	"math"
	"slices"
)

// Rate is a proportion with its Wilson score interval.
type Rate struct {
	K, N   int     // K events out of N trials
	Lo, Hi float64 // Wilson interval at the confidence of z
}

// Value returns K/N (0 when N is 0).
func (r Rate) Value() float64 {
	if r.N == 0 {
		return 0
	}
	return float64(r.K) / float64(r.N)
}

// Z95 is the normal quantile of a two-sided 95 % interval.
const Z95 = 1.959963984540054

// Wilson returns k/n with its Wilson score interval at normal quantile z
// (Z95 for 95 %). The interval stays inside [0, 1] and is not degenerate at
// k = 0 or k = n. With n = 0 it is [0, 1].
func Wilson(k, n int, z float64) Rate {
	if n <= 0 {
		return Rate{K: k, N: n, Lo: 0, Hi: 1}
	}
	p := float64(k) / float64(n)
	nf := float64(n)
	z2 := z * z
	den := 1 + z2/nf
	mid := (p + z2/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return Rate{K: k, N: n, Lo: math.Max(0, mid-half), Hi: math.Min(1, mid+half)}
}

// Scores are one method's probe scores, pooled over splits: a probe is kept
// out (blocked or sent to review) when its score is at or below the
// threshold. Split says which split each score came from, for the bootstrap.
type Scores struct {
	Mated, Strangers          []float64
	MatedSplit, StrangerSplit []int
	Splits                    int
}

// At returns FNMR (mated probes above t: they would be indexed) and FPIR
// (strangers at or below t: they would be kept out) at threshold t.
func (s *Scores) At(t float64) (fnmr, fpir Rate) {
	var miss, fp int
	for _, v := range s.Mated {
		if !(v <= t) {
			miss++
		}
	}
	for _, v := range s.Strangers {
		if v <= t {
			fp++
		}
	}
	return Wilson(miss, len(s.Mated), Z95), Wilson(fp, len(s.Strangers), Z95)
}

// ThresholdAtFPIR returns the largest threshold whose FPIR is at most fpir
// (strictly below the stranger score that would exceed it).
func ThresholdAtFPIR(strangers []float64, fpir float64) float64 {
	st := slices.Clone(strangers)
	slices.Sort(st)
	k := int(math.Floor(fpir * float64(len(st))))
	if k >= len(st) {
		return math.Inf(1)
	}
	return math.Nextafter(st[k], math.Inf(-1))
}

// FNMRAtFPIR returns the FNMR at the largest threshold with FPIR <= fpir,
// that threshold, and a 95 % bootstrap interval over splits (resampling
// whole splits, so the correlation between probes of one split is kept;
// reps resamples with a fixed seed).
func (s *Scores) FNMRAtFPIR(fpir float64, reps int) (fnmr, t, lo, hi float64) {
	t = ThresholdAtFPIR(s.Strangers, fpir)
	f, _ := s.At(t)
	fnmr = f.Value()
	if reps <= 0 || s.Splits < 2 {
		return fnmr, t, fnmr, fnmr
	}
	mBy := make([][]float64, s.Splits)
	sBy := make([][]float64, s.Splits)
	for i, v := range s.Mated {
		mBy[s.MatedSplit[i]] = append(mBy[s.MatedSplit[i]], v)
	}
	for i, v := range s.Strangers {
		sBy[s.StrangerSplit[i]] = append(sBy[s.StrangerSplit[i]], v)
	}
	rng := newRand(12345)
	vals := make([]float64, 0, reps)
	var bm, bs []float64
	for range reps {
		bm, bs = bm[:0], bs[:0]
		for range s.Splits {
			j := rng.IntN(s.Splits)
			bm = append(bm, mBy[j]...)
			bs = append(bs, sBy[j]...)
		}
		b := Scores{Mated: bm, Strangers: bs}
		bf, _ := b.At(ThresholdAtFPIR(bs, fpir))
		vals = append(vals, bf.Value())
	}
	slices.Sort(vals)
	return fnmr, t, quantile(vals, 0.025), quantile(vals, 0.975)
}

// quantile returns the q-quantile of sorted xs (linear interpolation).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(xs)-1)
	i := int(pos)
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	f := pos - float64(i)
	return xs[i]*(1-f) + xs[i+1]*f
}

// DETPoint is one operating point of a DET curve.
type DETPoint struct {
	Threshold  float64
	FNMR, FPIR float64
}

// DET returns the operating points at every distinct stranger and mated
// score (at most max points, evenly thinned), FPIR rising.
func (s *Scores) DET(max int) []DETPoint {
	ts := append(slices.Clone(s.Mated), s.Strangers...)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	if max > 0 && len(ts) > max {
		th := make([]float64, 0, max)
		for i := range max {
			th = append(th, ts[i*(len(ts)-1)/(max-1)])
		}
		ts = th
	}
	m := slices.Clone(s.Mated)
	st := slices.Clone(s.Strangers)
	slices.Sort(m)
	slices.Sort(st)
	out := make([]DETPoint, 0, len(ts))
	for _, t := range ts {
		km, _ := slices.BinarySearch(m, math.Nextafter(t, math.Inf(1)))
		ks, _ := slices.BinarySearch(st, math.Nextafter(t, math.Inf(1)))
		out = append(out, DETPoint{Threshold: t, FNMR: 1 - float64(km)/float64(max1(len(m))), FPIR: float64(ks) / float64(max1(len(st)))})
	}
	return out
}

func max1(n int) int { return max(n, 1) }
