package evaluation

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
)

// PolicyMethod evaluates an exclusion.Policy exactly as the Filter runs it:
// New builds the policy from the split's cohort; every enrolled face is
// calibrated at enrolment when the policy is an exclusion.Calibrator; each
// probe gets, as candidates, the enrolled faces within the larger of the
// policy's Radius and the weak-face rule's (a brute-force scan, nearest
// first; with every face of their requests when the policy is an
// exclusion.RequestPolicy that wants whole requests), and exclusion.Decide
// (the policy's Decide, then Weak) gives the verdict. Score (of the Sweep
// policy, which must implement exclusion.Scorer) sees every enrolled face.
type PolicyMethod struct {
	Label string
	New   func(cohort []embed.Descriptor) (exclusion.Policy, error)
	// Sweep, when not nil, builds the policy whose Score traces the DET
	// curve: the same policy without its radius cap, so the curve goes on
	// beyond the default radius. Scores come from New's policy otherwise.
	Sweep func(cohort []embed.Descriptor) (exclusion.Policy, error)
	// Weak is the Filter's weak-face rule (FilterConfig.WeakFaces); the
	// zero value is off. It changes verdicts, not the DET curve.
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
	swp := pol
	if m.Sweep != nil {
		if swp, err = m.Sweep(sp.Cohort); err != nil {
			return nil, err
		}
	}
	sc, ok := swp.(exclusion.Scorer)
	if !ok {
		return nil, fmt.Errorf("evaluation: policy %T does not implement exclusion.Scorer", pol)
	}
	cal, _ := pol.(exclusion.Calibrator)
	whole := false
	if rp, ok := pol.(exclusion.RequestPolicy); ok {
		whole = rp.WholeRequests()
	}
	type enrolled struct {
		d    embed.Descriptor
		q    embed.Quality
		req  string
		cal  float64
		face uint64
	}
	var faces []enrolled
	for _, e := range sp.Enrolled {
		for i := range e.Faces {
			f := enrolled{d: e.Faces[i], req: e.Person, face: uint64(len(faces) + 1)}
			if i < len(e.Qualities) {
				f.q = e.Qualities[i]
			}
			if cal != nil {
				f.cal = cal.Calibrate(f.d)
			}
			faces = append(faces, f)
		}
	}
	if m.Verdicts != nil && m.Verdicts.Mated == nil {
		m.Verdicts.Mated = map[exclusion.Verdict]int{}
		m.Verdicts.Strangers = map[exclusion.Verdict]int{}
	}
	r := max(pol.Radius(), m.Weak.Radius())
	return func(pr *Probe) float64 {
		p := pr.Descriptor
		var all, cands []exclusion.Candidate
		for _, f := range faces {
			all = append(all, exclusion.Candidate{RequestID: f.req, FaceID: f.face, Distance: p.Distance(f.d), Calibration: f.cal, Quality: f.q})
		}
		sortCandidates(all)
		near := map[string]bool{}
		for _, c := range all {
			if c.Distance <= r {
				near[c.RequestID] = true
			}
		}
		for _, c := range all {
			if c.Distance <= r || (whole && near[c.RequestID]) {
				cands = append(cands, c)
			}
		}
		if m.Verdicts != nil {
			v, _, weak := exclusion.Decide(pol, m.Weak, p, &pr.Quality, cands)
			if pr.Mated {
				m.Verdicts.Mated[v]++
				if weak {
					m.Verdicts.WeakMated++
				}
			} else {
				m.Verdicts.Strangers[v]++
				if weak {
					m.Verdicts.WeakStrangers++
				}
			}
		}
		s := sc.Score(p, all)
		if math.IsNaN(s) {
			return math.Inf(1)
		}
		return s
	}, nil
}

func sortCandidates(c []exclusion.Candidate) {
	slices.SortStableFunc(c, func(a, b exclusion.Candidate) int { return cmp.Compare(a.Distance, b.Distance) })
}

// ThresholdMethod is the global-threshold baseline as a PolicyMethod.
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
		Sweep: func([]embed.Descriptor) (exclusion.Policy, error) {
			return exclusion.NewThresholdPolicy(2, 2)
		},
		Verdicts: v,
	}
}

// CohortMethod is exclusion.CohortPolicy with cfg as a PolicyMethod.
func CohortMethod(cfg exclusion.CohortConfig, v *VerdictCounts) *PolicyMethod {
	label := fmt.Sprintf("cohort policy (K %d, block %.3f, review %.3f)", cfg.K, cfg.Block, cfg.Review)
	if cfg.Fuse {
		label = fmt.Sprintf("cohort policy, photos fused (K %d, block %.3f, review %.3f)", cfg.K, cfg.Block, cfg.Review)
	}
	return &PolicyMethod{
		Label: label,
		New: func(c []embed.Descriptor) (exclusion.Policy, error) {
			return exclusion.NewCohortPolicy(c, cfg)
		},
		Sweep: func(c []embed.Descriptor) (exclusion.Policy, error) {
			u := cfg
			u.MaxDistance = 2
			return exclusion.NewCohortPolicy(c, u)
		},
		Verdicts: v,
	}
}
