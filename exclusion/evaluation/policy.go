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
// probe gets the enrolled faces within Radius as candidates (a brute-force
// scan, nearest first) for Decide; Score (of the Sweep policy) sees every
// enrolled face (it must implement
// exclusion.Scorer) and Decide.
type PolicyMethod struct {
	Label string
	New   func(cohort []embed.Descriptor) (exclusion.Policy, error)
	// Sweep, when not nil, builds the policy whose Score traces the DET
	// curve: the same policy without its radius cap, so the curve goes on
	// beyond the default radius. Scores come from New's policy otherwise.
	Sweep func(cohort []embed.Descriptor) (exclusion.Policy, error)
	// Verdicts, when not nil, receives Decide's verdict for every probe.
	Verdicts *VerdictCounts
}

// VerdictCounts counts Decide's verdicts for mated and stranger probes.
type VerdictCounts struct {
	Mated, Strangers map[exclusion.Verdict]int
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
	type enrolled struct {
		d    embed.Descriptor
		req  string
		cal  float64
		face uint64
	}
	var faces []enrolled
	for _, e := range sp.Enrolled {
		for i := range e.Faces {
			f := enrolled{d: e.Faces[i], req: e.Person, face: uint64(len(faces) + 1)}
			if cal != nil {
				f.cal = cal.Calibrate(&f.d)
			}
			faces = append(faces, f)
		}
	}
	if m.Verdicts != nil && m.Verdicts.Mated == nil {
		m.Verdicts.Mated = map[exclusion.Verdict]int{}
		m.Verdicts.Strangers = map[exclusion.Verdict]int{}
	}
	r := pol.Radius()
	return func(pr *Probe) float64 {
		p := &pr.Descriptor
		var all, cands []exclusion.Candidate
		for _, f := range faces {
			all = append(all, exclusion.Candidate{RequestID: f.req, FaceID: f.face, Distance: p.Distance(&f.d), Calibration: f.cal})
		}
		sortCandidates(all)
		for _, c := range all {
			if c.Distance <= r {
				cands = append(cands, c)
			}
		}
		if m.Verdicts != nil {
			v, _ := pol.Decide(p, cands)
			if pr.Mated {
				m.Verdicts.Mated[v]++
			} else {
				m.Verdicts.Strangers[v]++
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
	return &PolicyMethod{
		Label: fmt.Sprintf("global threshold %.2f", block),
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
	return &PolicyMethod{
		Label: fmt.Sprintf("cohort policy (K %d, block %.3f, review %.3f)", cfg.K, cfg.Block, cfg.Review),
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
