package evaluation

import (
	"fmt"
	"math/rand/v2"

	"github.com/faceoptout/faceoptout/embed"
)

// Protocol is an open-set exclusion trial. Each split shuffles the people
// (seeded), enrols the first Enrolled people with PerPerson photos each,
// keeps the next Cohort people's faces as the background cohort the policy
// is calibrated with, and treats the next Strangers people (0: all the rest)
// as never enrolled. Mated probes are the enrolled people's other photos
// (they must be kept out); stranger probes are all the strangers' photos
// (they must be allowed).
type Protocol struct {
	Enrolled  int
	PerPerson int
	Cohort    int
	Strangers int
	Splits    int
	Seed      uint64
}

// IdolsProtocol is the open-set protocol of the issue on idols.json: 40
// people x 2 photos enrolled, 40 others as the cohort, the remaining 54 as
// strangers, 20 splits.
func IdolsProtocol() Protocol {
	return Protocol{Enrolled: 40, PerPerson: 2, Cohort: 40, Splits: 20, Seed: 1}
}

// Enrolment is one enrolled person of a split.
type Enrolment struct {
	Person string
	Faces  []embed.Descriptor
	// Qualities[i] is the detection quality of Faces[i] (zero if unknown).
	Qualities []embed.Quality
}

// Probe is one probe face of a split.
type Probe struct {
	Face
	// Mated is true for an enrolled person's other photo.
	Mated bool
}

// Split is one random partition of a Set under a Protocol.
type Split struct {
	Enrolled []Enrolment
	Cohort   []embed.Descriptor
	// CohortPeople[i] labels Cohort[i] (in-set cohorts only; nil when the
	// cohort was given).
	CohortPeople []string
	Probes       []Probe
}

// Partition partitions s under p. An enrolled photo enrols its Extra
// descriptors too. A person with fewer than PerPerson+1 photos
// is never enrolled (nothing would be left to probe with); such people are
// shuffled among the cohort and stranger candidates. If cohort is not nil it
// replaces the in-set cohort (p.Cohort must then be 0).
func (p Protocol) Partition(s *Set, cohort []embed.Descriptor) ([]Split, error) {
	if p.Enrolled < 1 || p.PerPerson < 1 || p.Cohort < 0 || p.Strangers < 0 || p.Splits < 1 {
		return nil, fmt.Errorf("%w: protocol %+v", ErrData, p)
	}
	names, by := s.People()
	var enrollable, others []string
	for _, n := range names {
		if len(by[n]) > p.PerPerson {
			enrollable = append(enrollable, n)
		} else {
			others = append(others, n)
		}
	}
	if len(enrollable) < p.Enrolled {
		return nil, fmt.Errorf("%w: %s: %d people have more than %d photos, protocol enrols %d", ErrData, s.Name, len(enrollable), p.PerPerson, p.Enrolled)
	}
	rest := len(names) - p.Enrolled - p.Cohort
	if rest < 1 || (p.Strangers > 0 && rest < p.Strangers) {
		return nil, fmt.Errorf("%w: %s: %d people, protocol needs %d enrolled + %d cohort + strangers", ErrData, s.Name, len(names), p.Enrolled, p.Cohort)
	}
	rng := rand.New(rand.NewPCG(p.Seed, 0x9e3779b97f4a7c15))
	out := make([]Split, p.Splits)
	for i := range out {
		en := append([]string(nil), enrollable...)
		rng.Shuffle(len(en), func(a, b int) { en[a], en[b] = en[b], en[a] })
		rem := append(append([]string(nil), en[p.Enrolled:]...), others...)
		rng.Shuffle(len(rem), func(a, b int) { rem[a], rem[b] = rem[b], rem[a] })
		sp := &out[i]
		for _, n := range en[:p.Enrolled] {
			idx := append([]int(nil), by[n]...)
			rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
			e := Enrolment{Person: n}
			for _, j := range idx[:p.PerPerson] {
				for _, d := range append([]embed.Descriptor{s.Faces[j].Descriptor}, s.Faces[j].Extra...) {
					e.Faces = append(e.Faces, d)
					e.Qualities = append(e.Qualities, s.Faces[j].Quality)
				}
			}
			sp.Enrolled = append(sp.Enrolled, e)
			for _, j := range idx[p.PerPerson:] {
				sp.Probes = append(sp.Probes, Probe{Face: s.Faces[j], Mated: true})
			}
		}
		for _, n := range rem[:p.Cohort] {
			for _, j := range by[n] {
				sp.Cohort = append(sp.Cohort, s.Faces[j].Descriptor)
				sp.CohortPeople = append(sp.CohortPeople, n)
			}
		}
		if cohort != nil {
			sp.Cohort, sp.CohortPeople = cohort, nil
		}
		str := rem[p.Cohort:]
		if p.Strangers > 0 {
			str = str[:p.Strangers]
		}
		for _, n := range str {
			for _, j := range by[n] {
				sp.Probes = append(sp.Probes, Probe{Face: s.Faces[j]})
			}
		}
	}
	return out, nil
}
