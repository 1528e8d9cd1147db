package evaluation

import (
	"math"
)

// Method is a decision rule under evaluation. Prepare sees one split's
// enrolled people and cohort (as a registry would at enrolment) and returns
// the probe's score: the probe is kept out when the score is at or below the
// method's threshold, so sweeping the threshold traces the DET curve.
type Method interface {
	Name() string
	Prepare(sp *Split) (func(probe *Probe) float64, error)
}

// Global is the single global threshold: the score is the distance to the
// nearest enrolled face.
type Global struct{}

// Name implements Method.
func (Global) Name() string { return "global threshold (nearest enrolled face)" }

// Prepare implements Method.
func (Global) Prepare(sp *Split) (func(*Probe) float64, error) {
	return func(pr *Probe) float64 {
		p := pr.Descriptor
		best := math.Inf(1)
		for _, e := range sp.Enrolled {
			for i := range e.Faces {
				best = math.Min(best, p.Distance(e.Faces[i]))
			}
		}
		return best
	}, nil
}

// Run scores every probe of every split with m.
func Run(m Method, splits []Split) (*Scores, error) {
	s := &Scores{Splits: len(splits)}
	for i := range splits {
		sp := &splits[i]
		score, err := m.Prepare(sp)
		if err != nil {
			return nil, err
		}
		for j := range sp.Probes {
			p := &sp.Probes[j]
			v := score(p)
			if p.Mated {
				s.Mated = append(s.Mated, v)
				s.MatedSplit = append(s.MatedSplit, i)
			} else {
				s.Strangers = append(s.Strangers, v)
				s.StrangerSplit = append(s.StrangerSplit, i)
			}
		}
	}
	return s, nil
}
