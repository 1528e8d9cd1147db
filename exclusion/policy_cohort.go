package exclusion

import (
	"fmt"
	"math"
	"slices"

	"github.com/faceoptout/faceoptout/embed"
)

// CohortConfig configures a CohortPolicy. Scores are distances minus the
// mean of the two faces' cohort distances (see CohortPolicy), so they are
// negative for most true matches.
type CohortConfig struct {
	// K is how many nearest cohort faces are averaged into a face's cohort
	// distance.
	K int
	// Block is the largest score that blocks.
	Block float64
	// Review is the largest score sent to review; Review >= Block.
	Review float64
	// MaxDistance is the Radius: a candidate farther than this Euclidean
	// distance never blocks nor goes to review, whatever its score.
	MaxDistance float64
	// SkipWithin leaves out of a face's cohort distance the cohort faces
	// closer than this: probably the same person, who may well be in the
	// operator's sample of their own index. 0 keeps them all.
	SkipWithin float64
	// Fuse combines the photos of a request: its score is the mean of its
	// best face's score and of the mean score over all its faces (see
	// CohortPolicy). The Filter then passes every face of a request with a
	// face within MaxDistance (WholeRequests).
	Fuse bool
}

// DefaultCohortConfig returns the defaults measured by the evaluation
// harness (exclusion/EVALUATION.md): K 20, Block -0.02, Review 0.0,
// MaxDistance 0.6, Fuse.
func DefaultCohortConfig() CohortConfig {
	return CohortConfig{K: 20, Block: -0.02, Review: 0.0, MaxDistance: 0.6, Fuse: true}
}

// MinCohort is the smallest cohort NewCohortPolicy accepts.
const MinCohort = 50

// CohortPolicy decides with distances normalised against a cohort of
// background faces: a sample of faces of the operator's own index, of people
// who did not opt out.
//
// Every face f gets a cohort distance c(f): the mean Euclidean distance from
// f to its K nearest cohort faces. It measures how crowded the face's part
// of descriptor space is. The score of a probe p against an enrolled face e
// at distance d is
//
//	score = d - (c(e) + c(p)) / 2
//
// (adaptive symmetric normalisation with the mean only). With Fuse, the
// photos of a request are combined: the request's score is the mean of its
// best face's score and of the mean score over all its faces, for every
// request with a face within MaxDistance (the Filter passes all of such a
// request's faces). A probe is blocked when some candidate (with Fuse: some
// request) within MaxDistance has score <= Block, sent to review when the
// lowest such score is <= Review, and allowed otherwise. c(e) is
// computed once at enrolment (Calibrate) and stored with the face; c(p) is
// computed per probe face against the cohort (K nearest of the cohort: a
// scan of the cohort, about 0.1 ms per 1,000 cohort faces).
//
// Why: dlib descriptors of some populations are crowded together (on
// idols.json, 134 East-Asian people, different-person distances have median
// 0.50 and 92.6 % are within 0.6). A single global threshold cannot serve a
// crowded and a sparse population at once; subtracting the local cohort
// distance does. On the idols.json open-set protocol the FNMR at FPIR 5 %
// drops from 76.5 % (best global threshold) to 59.6 % with one score per
// face and 56.1 % with Fuse, at FPIR 1 % from 88.9 % to 79.5 % and 76.0 %:
// see exclusion/EVALUATION.md for the whole curve.
//
// A candidate whose Calibration is 0 (enrolled before the policy was
// configured) uses the cohort's own mean cohort distance. A per-request
// Candidate.Threshold, when set, blocks within that raw distance as in
// ThresholdPolicy.
//
// A CohortPolicy is immutable and safe for concurrent use.
type CohortPolicy struct {
	cfg    CohortConfig
	cohort []embed.Descriptor
	ref    float64 // mean cohort distance of the cohort's own faces
}

var (
	_ Policy     = (*CohortPolicy)(nil)
	_ Calibrator = (*CohortPolicy)(nil)
	_ Scorer     = (*CohortPolicy)(nil)
	_ Scorer     = (*ThresholdPolicy)(nil)

	_ RequestPolicy = (*CohortPolicy)(nil)
)

// NewCohortPolicy returns a CohortPolicy over a copy of cohort. It fails
// with ErrPolicy when the cohort holds fewer than max(MinCohort, K+1) faces
// or the configuration is invalid (K < 1, Block > Review, MaxDistance not in
// (0, 2]).
func NewCohortPolicy(cohort []embed.Descriptor, cfg CohortConfig) (*CohortPolicy, error) {
	switch {
	case cfg.K < 1:
		return nil, fmt.Errorf("%w: cohort K %d < 1", ErrPolicy, cfg.K)
	case !(cfg.Block <= cfg.Review):
		return nil, fmt.Errorf("%w: need block (%g) <= review (%g)", ErrPolicy, cfg.Block, cfg.Review)
	case !(cfg.MaxDistance > 0 && cfg.MaxDistance <= 2):
		return nil, fmt.Errorf("%w: max distance %g not in (0, 2]", ErrPolicy, cfg.MaxDistance)
	case len(cohort) < max(MinCohort, cfg.K+1):
		return nil, fmt.Errorf("%w: cohort of %d faces, need at least %d", ErrPolicy, len(cohort), max(MinCohort, cfg.K+1))
	}
	p := &CohortPolicy{cfg: cfg, cohort: slices.Clone(cohort)}
	var sum float64
	for i := range p.cohort {
		sum += p.cohortDistance(p.cohort[i], i)
	}
	p.ref = sum / float64(len(p.cohort))
	return p, nil
}

// Config returns the policy's configuration.
func (p *CohortPolicy) Config() CohortConfig { return p.cfg }

// cohortDistance is the mean distance from f to its K nearest cohort faces,
// skipping cohort face skip (-1: none).
func (p *CohortPolicy) cohortDistance(f embed.Descriptor, skip int) float64 {
	k := p.cfg.K
	// best holds the k smallest distances seen, unsorted; worst is its max.
	best := make([]float64, 0, k)
	worst, wi := math.Inf(1), -1
	for i := range p.cohort {
		if i == skip {
			continue
		}
		d := f.Distance(p.cohort[i])
		if d < p.cfg.SkipWithin {
			continue
		}
		if len(best) < k {
			best = append(best, d)
			if len(best) == k {
				wi = argmax(best)
				worst = best[wi]
			}
			continue
		}
		if d < worst {
			best[wi] = d
			wi = argmax(best)
			worst = best[wi]
		}
	}
	var s float64
	for _, d := range best {
		s += d
	}
	if len(best) == 0 {
		return p.ref
	}
	return s / float64(len(best))
}

func argmax(xs []float64) int {
	j := 0
	for i, x := range xs {
		if x > xs[j] {
			j = i
		}
	}
	return j
}

// Calibrate implements Calibrator: the face's cohort distance. Call it at
// enrolment and store the result with the face.
func (p *CohortPolicy) Calibrate(face embed.Descriptor) float64 {
	return p.cohortDistance(face, -1)
}

// Radius implements Policy: MaxDistance.
func (p *CohortPolicy) Radius() float64 { return p.cfg.MaxDistance }

// BlockScore implements Scorer.
func (p *CohortPolicy) BlockScore() float64 { return p.cfg.Block }

// ReviewScore implements Scorer.
func (p *CohortPolicy) ReviewScore() float64 { return p.cfg.Review }

// WholeRequests implements RequestPolicy: true when Fuse is set.
func (p *CohortPolicy) WholeRequests() bool { return p.cfg.Fuse }

// scores returns the score of every candidate (+Inf beyond MaxDistance,
// unless fusing and another face of its request is within MaxDistance).
func (p *CohortPolicy) scores(probe embed.Descriptor, cands []Candidate) []float64 {
	out := make([]float64, len(cands))
	near := map[string]bool{}
	if p.cfg.Fuse {
		for _, c := range cands {
			if c.Distance <= p.cfg.MaxDistance {
				near[c.RequestID] = true
			}
		}
	}
	cp := math.NaN()
	for i, c := range cands {
		if !(c.Distance <= p.cfg.MaxDistance || near[c.RequestID]) || math.IsNaN(c.Distance) {
			out[i] = math.Inf(1)
			continue
		}
		if math.IsNaN(cp) {
			cp = p.cohortDistance(probe, -1)
		}
		ce := c.Calibration
		if !(ce > 0) {
			ce = p.ref
		}
		out[i] = c.Distance - (ce+cp)/2
	}
	if !p.cfg.Fuse {
		return out
	}
	// Fuse: every face of a request gets the request's score,
	// (min + mean) / 2 over its faces' scores.
	type agg struct {
		min, sum float64
		n        int
	}
	by := map[string]*agg{}
	for i, c := range cands {
		a := by[c.RequestID]
		if a == nil {
			a = &agg{min: math.Inf(1)}
			by[c.RequestID] = a
		}
		a.min = math.Min(a.min, out[i])
		a.sum += out[i]
		a.n++
	}
	for i, c := range cands {
		a := by[c.RequestID]
		out[i] = (a.min + a.sum/float64(a.n)) / 2
	}
	return out
}

// Score implements Scorer: the lowest candidate (or, with Fuse, request)
// score, +Inf if none. It is safe for concurrent use.
func (p *CohortPolicy) Score(probe embed.Descriptor, cands []Candidate) float64 {
	best := math.Inf(1)
	for _, s := range p.scores(probe, cands) {
		best = math.Min(best, s)
	}
	return best
}

// Decide implements Policy. With Fuse, the candidates that justify a verdict
// are all faces of the matching requests. It is safe for concurrent use.
func (p *CohortPolicy) Decide(probe embed.Descriptor, cands []Candidate) (Verdict, []Candidate) {
	var block, review []Candidate
	for i, s := range p.scores(probe, cands) {
		c := cands[i]
		switch {
		case c.Threshold > 0 && c.Distance <= c.Threshold, s <= p.cfg.Block:
			block = append(block, c)
		case s <= p.cfg.Review:
			review = append(review, c)
		}
	}
	if len(block) > 0 {
		return Block, block
	}
	if len(review) > 0 {
		return Review, review
	}
	return Allow, nil
}
