package evaluation

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/faceoptout/faceoptout/embed"
	"gonum.org/v1/gonum/mat"
)

// Research is a decision rule the evaluation measured but the exclusion
// package does not implement (see exclusion/EVALUATION.md): descriptors
// optionally pass through a linear transform learned on the split's cohort,
// each enrolled face is scored against the probe (raw distance, AS-norm,
// rank, or a kNN vote), and a request's faces are combined (min, mean, or
// (min + mean) / 2). It scores like the kept policies, so its figures
// compare with theirs; it has no radius and no verdicts.
type Research struct {
	// Transform is "" (none), "white" (cohort covariance, unlabelled) or
	// "lda" (within-person covariance of the labelled cohort).
	Transform string
	// Shrink in [0, 1) mixes the covariance with a multiple of the
	// identity before its inverse square root is taken.
	Shrink float64
	// Norm is "none" (distance), "as" (distance - mean of both faces' K
	// nearest cohort distances), "rank" (mean of the probe's and the
	// enrolled face's count of cohort faces nearer than the pair, plus the
	// distance) or "vote" (minus the request's faces among the probe's K
	// nearest enrolled + cohort faces, plus its nearest distance).
	Norm string
	// Fuse is "min", "mean" or "mix" over a request's faces.
	Fuse string
	K    int
}

// Name implements Method.
func (r Research) Name() string {
	t := r.Transform
	if t == "" {
		t = "no transform"
	} else {
		t = fmt.Sprintf("%s (shrink %.1f)", t, r.Shrink)
	}
	return fmt.Sprintf("%s, %s K %d, %s over a request", t, r.Norm, r.K, r.Fuse)
}

// ResearchMethods are the rules of EVALUATION.md's research table.
func ResearchMethods() []Research {
	return []Research{
		{Norm: "none", Fuse: "mean", K: 20},
		{Norm: "as", Fuse: "mean", K: 20},
		{Norm: "as", Fuse: "mix", K: 10},
		{Norm: "as", Fuse: "mix", K: 50},
		{Norm: "rank", Fuse: "min", K: 20},
		{Norm: "rank", Fuse: "mix", K: 20},
		{Norm: "vote", Fuse: "min", K: 10},
		{Norm: "vote", Fuse: "min", K: 3},
		{Transform: "white", Shrink: 0.5, Norm: "as", Fuse: "mix", K: 20},
		{Transform: "white", Shrink: 0.9, Norm: "as", Fuse: "mix", K: 20},
		{Transform: "lda", Shrink: 0.3, Norm: "as", Fuse: "mix", K: 20},
		{Transform: "lda", Shrink: 0.7, Norm: "as", Fuse: "mix", K: 20},
		{Transform: "lda", Shrink: 0.7, Norm: "as", Fuse: "min", K: 20},
	}
}

// linear is x -> W (x - mu).
type linear struct {
	w  *mat.Dense
	mu []float64
}

func (t *linear) apply(d embed.Descriptor) embed.Descriptor {
	if t == nil {
		return d
	}
	n := len(t.mu)
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(d[i]) - t.mu[i]
	}
	out := make(embed.Descriptor, n)
	for i := range n {
		s := 0.0
		for j := range x {
			s += t.w.At(i, j) * x[j]
		}
		out[i] = float32(s)
	}
	return out
}

// learn returns the whitening transform of the cohort's covariance
// (labels nil) or of its within-person covariance, shrunk towards the
// identity and scaled so distances keep their size on average.
func learn(cohort []embed.Descriptor, labels []string, shrink float64) (*linear, error) {
	if len(cohort) < 2 || (labels != nil && len(labels) != len(cohort)) {
		return nil, fmt.Errorf("%w: transform needs a (labelled) cohort", ErrData)
	}
	n := len(cohort[0])
	t := &linear{mu: make([]float64, n)}
	for _, c := range cohort {
		for i := range t.mu {
			t.mu[i] += float64(c[i]) / float64(len(cohort))
		}
	}
	centre := func(i int) []float64 { return t.mu }
	if labels != nil {
		means := map[string][]float64{}
		count := map[string]int{}
		for i, c := range cohort {
			m := means[labels[i]]
			if m == nil {
				m = make([]float64, n)
				means[labels[i]] = m
			}
			for j := range m {
				m[j] += float64(c[j])
			}
			count[labels[i]]++
		}
		for l, m := range means {
			for j := range m {
				m[j] /= float64(count[l])
			}
		}
		centre = func(i int) []float64 { return means[labels[i]] }
	}
	s := mat.NewSymDense(n, nil)
	for i, c := range cohort {
		m := centre(i)
		x := make([]float64, n)
		for j := range x {
			x[j] = float64(c[j]) - m[j]
		}
		for a := 0; a < n; a++ {
			for b := a; b < n; b++ {
				s.SetSym(a, b, s.At(a, b)+x[a]*x[b]/float64(len(cohort)))
			}
		}
	}
	tr := 0.0
	for i := 0; i < n; i++ {
		tr += s.At(i, i)
	}
	for a := 0; a < n; a++ {
		for b := a; b < n; b++ {
			v := (1 - shrink) * s.At(a, b)
			if a == b {
				v += shrink * tr / float64(n)
			}
			s.SetSym(a, b, v)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return nil, fmt.Errorf("%w: covariance not factorised", ErrData)
	}
	vals := eig.Values(nil)
	var v mat.Dense
	eig.VectorsTo(&v)
	dg := mat.NewDense(n, n, nil)
	for i, l := range vals {
		if !(l > 0) {
			return nil, fmt.Errorf("%w: covariance not positive definite", ErrData)
		}
		dg.Set(i, i, math.Sqrt(tr/float64(n))/math.Sqrt(l))
	}
	var a, w mat.Dense
	a.Mul(&v, dg)
	w.Mul(&a, v.T())
	t.w = &w
	return t, nil
}

func sortedDistances(f embed.Descriptor, cohort []embed.Descriptor) []float64 {
	ds := make([]float64, len(cohort))
	for i := range cohort {
		ds[i] = f.Distance(cohort[i])
	}
	slices.Sort(ds)
	return ds
}

func meanFirst(ds []float64, k int) float64 {
	k = min(k, len(ds))
	s := 0.0
	for _, d := range ds[:k] {
		s += d
	}
	return s / float64(max(k, 1))
}

// Prepare implements Method.
func (r Research) Prepare(sp *Split) (func(*Probe) float64, error) {
	var t *linear
	var err error
	switch r.Transform {
	case "":
	case "white":
		t, err = learn(sp.Cohort, nil, r.Shrink)
	case "lda":
		if len(sp.CohortPeople) != len(sp.Cohort) {
			return nil, fmt.Errorf("%w: lda needs the cohort's labels", ErrData)
		}
		t, err = learn(sp.Cohort, sp.CohortPeople, r.Shrink)
	default:
		return nil, fmt.Errorf("%w: transform %q", ErrData, r.Transform)
	}
	if err != nil {
		return nil, err
	}
	if len(sp.Cohort) < r.K || r.K < 1 {
		return nil, fmt.Errorf("%w: cohort of %d faces, K %d", ErrData, len(sp.Cohort), r.K)
	}
	cohort := make([]embed.Descriptor, len(sp.Cohort))
	for i, c := range sp.Cohort {
		cohort[i] = t.apply(c)
	}
	type face struct {
		d   embed.Descriptor
		req int
		cd  []float64
	}
	var faces []face
	for i, e := range sp.Enrolled {
		for _, d := range e.Faces {
			f := face{d: t.apply(d), req: i}
			f.cd = sortedDistances(f.d, cohort)
			faces = append(faces, f)
		}
	}
	n := len(sp.Enrolled)
	return func(pr *Probe) float64 {
		p := t.apply(pr.Descriptor)
		pcd := sortedDistances(p, cohort)
		cp := meanFirst(pcd, r.K)
		sum, cnt, mn := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range mn {
			mn[i] = math.Inf(1)
		}
		for _, f := range faces {
			d := p.Distance(f.d)
			s := d
			switch r.Norm {
			case "as":
				s = d - (meanFirst(f.cd, r.K)+cp)/2
			case "rank":
				rp, _ := slices.BinarySearch(pcd, d)
				re, _ := slices.BinarySearch(f.cd, d)
				s = float64(rp+re)/2 + d
			}
			sum[f.req] += s
			cnt[f.req]++
			mn[f.req] = math.Min(mn[f.req], s)
		}
		if r.Norm == "vote" {
			votes := make([]int, n)
			nearer := func(d float64) int { k, _ := slices.BinarySearch(pcd, d); return k }
			// The probe's K nearest among enrolled + cohort faces.
			type nb struct {
				d   float64
				req int
			}
			var nbs []nb
			for _, f := range faces {
				if d := p.Distance(f.d); nearer(d) < r.K {
					nbs = append(nbs, nb{d, f.req})
				}
			}
			slices.SortFunc(nbs, func(a, b nb) int { return cmp.Compare(a.d, b.d) })
			for i, x := range nbs {
				if i+nearer(x.d) < r.K {
					votes[x.req]++
				}
			}
			best := math.Inf(1)
			for i := range votes {
				v := 10 + mn[i]
				if votes[i] > 0 {
					v = -float64(votes[i]) + mn[i]
				}
				best = math.Min(best, v)
			}
			return best
		}
		best := math.Inf(1)
		for i := range sum {
			v := mn[i]
			switch r.Fuse {
			case "mean":
				v = sum[i] / cnt[i]
			case "mix":
				v = (mn[i] + sum[i]/cnt[i]) / 2
			}
			best = math.Min(best, v)
		}
		return best
	}, nil
}
