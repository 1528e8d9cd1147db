package cohort

import (
	"fmt"
	"math"
	"slices"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
)

// Defaults of Config.
const (
	DefaultK           = 20
	DefaultBlock       = -0.02
	DefaultReview      = 0.0
	DefaultMaxDistance = 0.6
)

// MinFaces is the smallest cohort New accepts.
const MinFaces = 50

// Config configures a Policy. Zero fields mean the defaults.
type Config struct {
	// K is how many nearest cohort faces are averaged into a face's cohort
	// distance; 0 means DefaultK.
	K int
	// Block is the largest score that blocks; 0 means DefaultBlock.
	Block float64
	// Review is the largest score sent to review (Review >= Block); 0 means
	// DefaultReview, which is 0.
	Review float64
	// MaxDistance is the Radius: a candidate farther than this Euclidean
	// distance never blocks nor goes to review, whatever its score; 0 means
	// DefaultMaxDistance.
	MaxDistance float64
	// SkipWithin leaves out of a face's cohort distance the cohort faces
	// closer than this: probably the same person, who may well be in the
	// operator's sample of their own index. 0 keeps them all.
	SkipWithin float64
	// PerFace scores each enrolled face alone instead of fusing the photos
	// of a request ((best + mean) / 2 over the request's faces).
	PerFace bool
}

// DefaultConfig returns the configuration the zero value means, spelled out.
func DefaultConfig() Config {
	return Config{K: DefaultK, Block: DefaultBlock, Review: DefaultReview, MaxDistance: DefaultMaxDistance}
}

// resolve fills in the defaults.
func (c Config) resolve() Config {
	if c.K == 0 {
		c.K = DefaultK
	}
	if c.Block == 0 {
		c.Block = DefaultBlock
	}
	if c.MaxDistance == 0 {
		c.MaxDistance = DefaultMaxDistance
	}
	return c
}

// Policy decides with cohort-normalised distances (see the package
// documentation). It is immutable and safe for concurrent use.
type Policy struct {
	cfg    Config
	cohort []embed.Descriptor
	ref    float64 // mean cohort distance of the cohort's own faces
}

var (
	_ exclusion.Policy        = (*Policy)(nil)
	_ exclusion.Calibrator    = (*Policy)(nil)
	_ exclusion.RequestPolicy = (*Policy)(nil)
)

// New returns a Policy over a copy of faces (the cohort). It fails with
// exclusion.ErrPolicy when the cohort holds fewer than max(MinFaces, K+1)
// faces, its descriptors differ in length, or the configuration is invalid
// (K < 1, Block > Review, MaxDistance not in (0, 2], SkipWithin < 0).
func New(faces []embed.Descriptor, cfg Config) (*Policy, error) {
	cfg = cfg.resolve()
	switch {
	case cfg.K < 1:
		return nil, fmt.Errorf("%w: cohort K %d < 1", exclusion.ErrPolicy, cfg.K)
	case !(cfg.Block <= cfg.Review):
		return nil, fmt.Errorf("%w: need block (%g) <= review (%g)", exclusion.ErrPolicy, cfg.Block, cfg.Review)
	case !(cfg.MaxDistance > 0 && cfg.MaxDistance <= 2):
		return nil, fmt.Errorf("%w: max distance %g not in (0, 2]", exclusion.ErrPolicy, cfg.MaxDistance)
	case !(cfg.SkipWithin >= 0):
		return nil, fmt.Errorf("%w: skip within %g < 0", exclusion.ErrPolicy, cfg.SkipWithin)
	case len(faces) < max(MinFaces, cfg.K+1):
		return nil, fmt.Errorf("%w: cohort of %d faces, need at least %d", exclusion.ErrPolicy, len(faces), max(MinFaces, cfg.K+1))
	}
	p := &Policy{cfg: cfg, cohort: make([]embed.Descriptor, len(faces))}
	for i, f := range faces {
		if len(f) != len(faces[0]) || !f.Finite() {
			return nil, fmt.Errorf("%w: cohort face %d: %d numbers (want %d) or not finite", exclusion.ErrPolicy, i, len(f), len(faces[0]))
		}
		p.cohort[i] = slices.Clone(f)
	}
	var sum float64
	for i := range p.cohort {
		sum += p.cohortDistance(p.cohort[i], i)
	}
	p.ref = sum / float64(len(p.cohort))
	return p, nil
}

// Config returns the policy's configuration, defaults filled in.
func (p *Policy) Config() Config { return p.cfg }

// cohortDistance is the mean distance from f to its K nearest cohort faces,
// skipping cohort face skip (-1: none).
func (p *Policy) cohortDistance(f embed.Descriptor, skip int) float64 {
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
	if len(best) == 0 {
		return p.ref
	}
	var s float64
	for _, d := range best {
		s += d
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

// Calibrate implements exclusion.Calibrator: the face's cohort distance.
func (p *Policy) Calibrate(face embed.Descriptor) float64 {
	return p.cohortDistance(face, -1)
}

// Radius implements exclusion.Policy: MaxDistance.
func (p *Policy) Radius() float64 { return p.cfg.MaxDistance }

// BlockScore returns Block: Decide blocks at Score <= BlockScore.
func (p *Policy) BlockScore() float64 { return p.cfg.Block }

// ReviewScore returns Review: Decide sends to review at Score <= ReviewScore.
func (p *Policy) ReviewScore() float64 { return p.cfg.Review }

// WholeRequests implements exclusion.RequestPolicy: true unless PerFace.
func (p *Policy) WholeRequests() bool { return !p.cfg.PerFace }

// scores returns the score of every candidate (+Inf beyond MaxDistance,
// unless fusing and another face of its request is within MaxDistance).
func (p *Policy) scores(probe embed.Descriptor, cands []exclusion.Candidate) []float64 {
	fuse := !p.cfg.PerFace
	out := make([]float64, len(cands))
	near := map[string]bool{}
	if fuse {
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
	if !fuse {
		return out
	}
	// Every face of a request gets the request's score, (min + mean) / 2
	// over its faces' scores.
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

// Score returns the lowest candidate (or, fused, request) score, +Inf if
// none. It is safe for concurrent use.
func (p *Policy) Score(probe embed.Descriptor, cands []exclusion.Candidate) float64 {
	best := math.Inf(1)
	for _, s := range p.scores(probe, cands) {
		best = math.Min(best, s)
	}
	return best
}

// Decide implements exclusion.Policy. Fused, the candidates that justify a
// verdict are all faces of the matching requests. A candidate's own
// Threshold, when set, blocks within that raw distance. A candidate whose
// Calibration is 0 uses the cohort's own mean cohort distance. It is safe
// for concurrent use.
func (p *Policy) Decide(probe embed.Descriptor, cands []exclusion.Candidate) (exclusion.Verdict, []exclusion.Candidate) {
	var block, review []exclusion.Candidate
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
		return exclusion.Block, block
	}
	if len(review) > 0 {
		return exclusion.Review, review
	}
	return exclusion.Allow, nil
}
