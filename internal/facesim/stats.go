package facesim

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Stats holds sorted same-person and different-person pair distances drawn
// from a Model, to check its calibration.
type Stats struct {
	Same []float64 // distances between two samples of one person, ascending
	Diff []float64 // distances between samples of two people, ascending
}

// PairStats draws pairs same-person and pairs different-person pairs.
func (m *Model) PairStats(rng *rand.Rand, pairs int) Stats {
	var s Stats
	for range pairs {
		a := m.Identity(rng)
		b := m.Identity(rng)
		s.Same = append(s.Same, distance(m.SampleOf(rng, a), m.SampleOf(rng, a)))
		s.Diff = append(s.Diff, distance(m.SampleOf(rng, a), m.SampleOf(rng, b)))
	}
	slices.Sort(s.Same)
	slices.Sort(s.Diff)
	return s
}

// Median returns the median of sorted xs (NaN when empty).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return xs[len(xs)/2]
}

// FractionWithin returns the share of sorted xs that are <= r.
func FractionWithin(xs []float64, r float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return float64(sort.SearchFloat64s(xs, math.Nextafter(r, math.Inf(1)))) / float64(len(xs))
}

func distance(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}
