package evaluation

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/cohort"
)

// Scorer gives one number per probe face from every enrolled face (lower
// means closer to an enrolled face; +Inf without candidates): sweeping a
// threshold over it traces a policy's DET curve.
type Scorer interface {
	Score(probe embed.Descriptor, cands []exclusion.Candidate) float64
}

// PolicyMethod evaluates an exclusion.Policy exactly as the Filter runs it:
// New builds the policy from the split's cohort, the split's enrolled faces
// go into an exclusion.Gallery (one request per enrolled person), and every
// probe's verdict comes from exclusion.Decider.Decide with the weak-face
// rule Weak, fed the probe's detection quality: the same call the Filter and
// Sweep make. The score (for the DET curve) comes from Score's Scorer, which
// sees every enrolled face.
type PolicyMethod struct {
	Label string
	New   func(cohort []embed.Descriptor) (exclusion.Policy, error)
	// Score, when not nil, builds the Scorer whose scores trace the DET
	// curve (typically the same policy without its radius cap, so the curve
	// goes on beyond the default radius). When nil, New's policy must be a
	// Scorer.
	Score func(cohort []embed.Descriptor) (Scorer, error)
	// Weak is the Filter's weak-face rule (exclusion.FilterConfig.WeakFaces;
	// the zero value is the default rule, Disabled turns it off). It changes
	// verdicts, not the DET curve.
	Weak exclusion.WeakFaceRule
	// Verdicts, when not nil, receives the verdict for every probe.
	Verdicts *VerdictCounts
}

// VerdictCounts counts the verdicts for mated and stranger probes, and how
// many of them the weak-face rule sent to review.
type VerdictCounts struct {
	Mated, Strangers         map[exclusion.Verdict]int
	WeakMated, WeakStrangers int
}

// Name implements Method.
func (m *PolicyMethod) Name() string { return m.Label }

// Prepare implements Method.
func (m *PolicyMethod) Prepare(sp *Split) (func(*Probe) float64, error) {
	pol, err := m.New(sp.Cohort)
	if err != nil {
		return nil, err
	}
	var sc Scorer
	if m.Score != nil {
		if sc, err = m.Score(sp.Cohort); err != nil {
			return nil, err
		}
	} else if s, ok := pol.(Scorer); ok {
		sc = s
	} else {
		return nil, fmt.Errorf("evaluation: policy %T is not a Scorer and the method has no Score", pol)
	}
	dec, err := exclusion.NewDecider(pol, m.Weak)
	if err != nil {
		return nil, err
	}
	type enrolled struct {
		f   exclusion.EnrolledFace
		cal float64 // the Scorer's calibration, when it is a Calibrator
	}
	scal, _ := sc.(exclusion.Calibrator)
	var faces []enrolled
	dim := 0
	for _, e := range sp.Enrolled {
		for i := range e.Faces {
			f := exclusion.EnrolledFace{ID: uint64(len(faces) + 1), RequestID: e.Person, Descriptor: e.Faces[i]}
			if i < len(e.Qualities) {
				f.Quality = e.Qualities[i]
			}
			ef := enrolled{f: f}
			if scal != nil {
				ef.cal = scal.Calibrate(f.Descriptor)
			}
			faces = append(faces, ef)
			dim = len(f.Descriptor)
		}
	}
	gallery, err := exclusion.NewGallery(max(dim, 1))
	if err != nil {
		return nil, err
	}
	for _, f := range faces {
		if err := gallery.Add(f.f); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrData, err)
		}
	}
	if m.Verdicts != nil && m.Verdicts.Mated == nil {
		m.Verdicts.Mated = map[exclusion.Verdict]int{}
		m.Verdicts.Strangers = map[exclusion.Verdict]int{}
	}
	return func(pr *Probe) float64 {
		p := pr.Descriptor
		if m.Verdicts != nil {
			q := pr.Quality
			fc := dec.Decide(gallery, p, &q, time.Time{})
			if pr.Mated {
				m.Verdicts.Mated[fc.Verdict]++
				if fc.ByWeakFaceRule {
					m.Verdicts.WeakMated++
				}
			} else {
				m.Verdicts.Strangers[fc.Verdict]++
				if fc.ByWeakFaceRule {
					m.Verdicts.WeakStrangers++
				}
			}
		}
		all := make([]exclusion.Candidate, 0, len(faces))
		for _, f := range faces {
			all = append(all, exclusion.Candidate{RequestID: f.f.RequestID, FaceID: f.f.ID, Distance: p.Distance(f.f.Descriptor), Calibration: f.cal, Quality: f.f.Quality})
		}
		slices.SortStableFunc(all, func(a, b exclusion.Candidate) int { return cmp.Compare(a.Distance, b.Distance) })
		s := sc.Score(p, all)
		if math.IsNaN(s) {
			return math.Inf(1)
		}
		return s
	}, nil
}

// nearest scores a probe by its distance to the nearest enrolled face: the
// global threshold's score.
type nearest struct{}

func (nearest) Score(_ embed.Descriptor, cands []exclusion.Candidate) float64 {
	best := math.Inf(1)
	for _, c := range cands {
		best = math.Min(best, c.Distance)
	}
	return best
}

// ThresholdMethod is the global-threshold baseline as a PolicyMethod
// (exclusion.ThresholdPolicy, the weak-face rule off).
func ThresholdMethod(block, review float64, v *VerdictCounts) *PolicyMethod {
	label := fmt.Sprintf("global threshold %.2f", block)
	if review > block {
		label += fmt.Sprintf(" (review %.2f)", review)
	}
	return &PolicyMethod{
		Label: label,
		New: func([]embed.Descriptor) (exclusion.Policy, error) {
			return exclusion.NewThresholdPolicy(block, review)
		},
		Score:    func([]embed.Descriptor) (Scorer, error) { return nearest{}, nil },
		Weak:     exclusion.WeakFaceRule{Disabled: true},
		Verdicts: v,
	}
}

// CohortMethod is cohort.Policy with cfg as a PolicyMethod (the weak-face
// rule off).
func CohortMethod(cfg cohort.Config, v *VerdictCounts) *PolicyMethod {
	label := fmt.Sprintf("cohort policy, photos fused (K %d, block %.3f, review %.3f)", cfg.K, cfg.Block, cfg.Review)
	if cfg.PerFace {
		label = fmt.Sprintf("cohort policy (K %d, block %.3f, review %.3f)", cfg.K, cfg.Block, cfg.Review)
	}
	return &PolicyMethod{
		Label: label,
		New: func(c []embed.Descriptor) (exclusion.Policy, error) {
			return cohort.New(c, cfg)
		},
		Score: func(c []embed.Descriptor) (Scorer, error) {
			u := cfg
			u.MaxDistance = 2
			return cohort.New(c, u)
		},
		Weak:     exclusion.WeakFaceRule{Disabled: true},
		Verdicts: v,
	}
}
