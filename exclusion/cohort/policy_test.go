package cohort_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/cohort"
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

func TestNewErrors(t *testing.T) {
	ok := cohortAround(make(embed.Descriptor, embed.DlibDim), 60, 0.5)
	tests := []struct {
		name   string
		cohort []embed.Descriptor
		mod    func(*cohort.Config)
	}{
		{"small cohort", ok[:10], nil},
		{"negative K", ok, func(c *cohort.Config) { c.K = -1 }},
		{"block above review", ok, func(c *cohort.Config) { c.Block = 0.1; c.Review = 0 }},
		{"radius beyond 2", ok, func(c *cohort.Config) { c.MaxDistance = 3 }},
		{"negative skip", ok, func(c *cohort.Config) { c.SkipWithin = -1 }},
		{"NaN block", ok, func(c *cohort.Config) { c.Block = math.NaN() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cohort.DefaultConfig()
			if tc.mod != nil {
				tc.mod(&cfg)
			}
			if _, err := cohort.New(tc.cohort, cfg); !errors.Is(err, exclusion.ErrPolicy) {
				t.Fatalf("err = %v, want ErrPolicy", err)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	// Every cohort face lies 0.5 from the origin; enrolled face and probe
	// sit at the origin, so both cohort distances are 0.5 and the score is
	// distance - 0.5.
	origin := make(embed.Descriptor, embed.DlibDim)
	p, err := cohort.New(cohortAround(origin, 100, 0.5), cohort.DefaultConfig())
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

func TestConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	faces := make([]embed.Descriptor, 200)
	for i := range faces {
		faces[i] = make(embed.Descriptor, embed.DlibDim)
		for j := range faces[i] {
			faces[i][j] = float32(rng.NormFloat64() * 0.04)
		}
	}
	p, err := cohort.New(faces, cohort.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan exclusion.Verdict)
	for i := range 4 {
		go func() {
			v, _ := p.Decide(faces[i], []exclusion.Candidate{{RequestID: "a", Distance: 0.1, Calibration: p.Calibrate(faces[i+1])}})
			done <- v
		}()
	}
	for range 4 {
		if v := <-done; v != exclusion.Block {
			t.Errorf("verdict %v, want block", v)
		}
	}
}

// Fused (the default), a request's score is (best + mean) / 2 over its faces' scores;
// a request counts only if one of its faces is within MaxDistance.
func TestFuse(t *testing.T) {
	origin := make(embed.Descriptor, embed.DlibDim)
	faces := cohortAround(origin, 100, 0.5)
	cfg := cohort.DefaultConfig()
	cfg.PerFace = true
	plain, err := cohort.New(faces, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PerFace = false
	fused, err := cohort.New(faces, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if plain.WholeRequests() || !fused.WholeRequests() {
		t.Fatalf("WholeRequests: plain %v, fused %v", plain.WholeRequests(), fused.WholeRequests())
	}
	cal := fused.Calibrate(origin)
	c := func(req string, d float64) exclusion.Candidate {
		return exclusion.Candidate{RequestID: req, Distance: d, Calibration: cal}
	}
	score := func(d float64) float64 { return plain.Score(origin, []exclusion.Candidate{c("x", d)}) }
	for _, tc := range []struct {
		name  string
		cands []exclusion.Candidate
		want  float64
		v     exclusion.Verdict
	}{
		{"one face", []exclusion.Candidate{c("a", 0.3)}, score(0.3), exclusion.Block},
		{"two faces", []exclusion.Candidate{c("a", 0.3), c("a", 0.5)}, (score(0.3) + (score(0.3)+score(0.5))/2) / 2, exclusion.Block},
		// The far photo pulls the request's score up: -0.1 alone (block),
		// (-0.1 + (-0.1 + 0.2) / 2) / 2 = -0.025 fused (still block at -0.02).
		{"far sibling beyond radius", []exclusion.Candidate{c("a", 0.4), c("a", 0.7)}, (score(0.4) + (score(0.4)+0.2)/2) / 2, exclusion.Block},
		{"far sibling turns block to review", []exclusion.Candidate{c("a", 0.45), c("a", 0.6)}, (score(0.45) + (score(0.45)+score(0.6))/2) / 2, exclusion.Review},
		{"no face within radius", []exclusion.Candidate{c("a", 0.65), c("a", 0.7)}, math.Inf(1), exclusion.Allow},
		{"best request wins", []exclusion.Candidate{c("a", 0.3), c("b", 0.35), c("a", 0.9)}, score(0.35), exclusion.Block},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fused.Score(origin, tc.cands)
			if !(math.Abs(got-tc.want) < 1e-9 || (math.IsInf(got, 1) && math.IsInf(tc.want, 1))) {
				t.Errorf("Score = %v, want %v", got, tc.want)
			}
			if v, _ := fused.Decide(origin, tc.cands); v != tc.v {
				t.Errorf("Decide = %v, want %v", v, tc.v)
			}
		})
	}
}
