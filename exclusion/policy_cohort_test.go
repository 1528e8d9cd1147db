package exclusion_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
)

// cohortAround returns n descriptors at distance r from centre along random
// axes (one axis each, alternating sign).
func cohortAround(centre embed.Descriptor, n int, r float32) []embed.Descriptor {
	out := make([]embed.Descriptor, n)
	for i := range out {
		sign := float32(1)
		if i%2 == 1 {
			sign = -1
		}
		out[i] = slices.Clone(centre)
		out[i][i%embed.DlibDim] += sign * r
	}
	return out
}

func TestNewCohortPolicyErrors(t *testing.T) {
	ok := cohortAround(make(embed.Descriptor, embed.DlibDim), 60, 0.5)
	tests := []struct {
		name   string
		cohort []embed.Descriptor
		mod    func(*exclusion.CohortConfig)
	}{
		{"small cohort", ok[:10], nil},
		{"zero K", ok, func(c *exclusion.CohortConfig) { c.K = 0 }},
		{"block above review", ok, func(c *exclusion.CohortConfig) { c.Block = 0.1; c.Review = 0 }},
		{"no radius", ok, func(c *exclusion.CohortConfig) { c.MaxDistance = 0 }},
		{"NaN block", ok, func(c *exclusion.CohortConfig) { c.Block = math.NaN() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := exclusion.DefaultCohortConfig()
			if tc.mod != nil {
				tc.mod(&cfg)
			}
			if _, err := exclusion.NewCohortPolicy(tc.cohort, cfg); !errors.Is(err, exclusion.ErrPolicy) {
				t.Fatalf("err = %v, want ErrPolicy", err)
			}
		})
	}
}

func TestCohortPolicyDecide(t *testing.T) {
	// Every cohort face lies 0.5 from the origin; enrolled face and probe
	// sit at the origin, so both cohort distances are 0.5 and the score is
	// distance - 0.5.
	origin := make(embed.Descriptor, embed.DlibDim)
	p, err := exclusion.NewCohortPolicy(cohortAround(origin, 100, 0.5), exclusion.DefaultCohortConfig())
	if err != nil {
		t.Fatal(err)
	}
	cal := p.Calibrate(origin)
	if math.Abs(cal-0.5) > 1e-6 {
		t.Fatalf("Calibrate = %v, want 0.5", cal)
	}
	tests := []struct {
		name  string
		cands []exclusion.Candidate
		want  exclusion.Verdict
		score float64
	}{
		{"none", nil, exclusion.Allow, math.Inf(1)},
		{"close", []exclusion.Candidate{{RequestID: "a", Distance: 0.3, Calibration: cal}}, exclusion.Block, -0.2},
		{"review band", []exclusion.Candidate{{RequestID: "a", Distance: 0.49, Calibration: cal}}, exclusion.Review, -0.01},
		{"far", []exclusion.Candidate{{RequestID: "a", Distance: 0.55, Calibration: cal}}, exclusion.Allow, 0.05},
		{"uncalibrated uses the cohort's own", []exclusion.Candidate{{RequestID: "a", Distance: 0.3}}, exclusion.Block, math.NaN()},
		{"beyond radius", []exclusion.Candidate{{RequestID: "a", Distance: 0.7, Calibration: 5}}, exclusion.Allow, math.Inf(1)},
		{"per-request threshold", []exclusion.Candidate{{RequestID: "a", Distance: 0.58, Calibration: cal, Threshold: 0.59}}, exclusion.Block, 0.08},
		{"block wins", []exclusion.Candidate{{RequestID: "a", Distance: 0.49, Calibration: cal}, {RequestID: "b", Distance: 0.2, Calibration: cal}}, exclusion.Block, -0.3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, why := p.Decide(origin, tc.cands)
			if v != tc.want {
				t.Fatalf("Decide = %v, want %v", v, tc.want)
			}
			if v != exclusion.Allow && len(why) == 0 {
				t.Fatalf("Decide gave no candidates for %v", v)
			}
			s := p.Score(origin, tc.cands)
			if !math.IsNaN(tc.score) && !(math.IsInf(tc.score, 1) && math.IsInf(s, 1)) && math.Abs(s-tc.score) > 1e-6 {
				t.Fatalf("Score = %v, want %v", s, tc.score)
			}
		})
	}
}

func TestCohortPolicyConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cohort := make([]embed.Descriptor, 200)
	for i := range cohort {
		cohort[i] = make(embed.Descriptor, embed.DlibDim)
		for j := range cohort[i] {
			cohort[i][j] = float32(rng.NormFloat64() * 0.04)
		}
	}
	p, err := exclusion.NewCohortPolicy(cohort, exclusion.DefaultCohortConfig())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan exclusion.Verdict)
	for i := range 4 {
		go func() {
			v, _ := p.Decide(cohort[i], []exclusion.Candidate{{RequestID: "a", Distance: 0.1, Calibration: p.Calibrate(cohort[i+1])}})
			done <- v
		}()
	}
	for range 4 {
		if v := <-done; v != exclusion.Block {
			t.Errorf("verdict %v, want block", v)
		}
	}
}
