package exclusion_test

import (
	"math"
	"slices"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// With Fuse, a request's score is (best + mean) / 2 over its faces' scores;
// a request counts only if one of its faces is within MaxDistance.
func TestCohortPolicyFuse(t *testing.T) {
	origin := make(embed.Descriptor, embed.DlibDim)
	cohort := cohortAround(origin, 100, 0.5)
	cfg := exclusion.DefaultCohortConfig()
	cfg.Fuse = false
	plain, err := exclusion.NewCohortPolicy(cohort, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Fuse = true
	fused, err := exclusion.NewCohortPolicy(cohort, cfg)
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

// wholePolicy records its candidates and asks for whole requests.
type wholePolicy struct {
	recordingPolicy
	whole bool
}

func (p *wholePolicy) WholeRequests() bool { return p.whole }

// A RequestPolicy that wants whole requests gets every face of a request
// with a face within its radius, with exact distances, nearest first; other
// policies get only the faces within the radius.
func TestFilterPassesWholeRequests(t *testing.T) {
	for _, whole := range []bool{false, true} {
		emb := &exclusiontest.Embedder{}
		reg, _ := newRegistry(t, emb)
		pol := &wholePolicy{recordingPolicy: recordingPolicy{ThresholdPolicy: exclusion.ThresholdPolicy{Block: 0.6, Review: 0.6}}, whole: whole}
		cfg := exclusion.DefaultFilterConfig()
		cfg.Policy = pol
		f, err := exclusion.NewFilter(reg, emb, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// One request, two photos far apart (two fake people), and another
		// request far from the probe.
		req := mustSubmit(t, reg, faceSubmission(photo(person(1)), photo(person(2))))
		mustApprove(t, reg, req.ID)
		other := mustSubmit(t, reg, faceSubmission(photo(person(3))))
		mustApprove(t, reg, other.ID)
		p1, p2 := exclusiontest.Descriptor(exclusiontest.Person(1)), exclusiontest.Descriptor(exclusiontest.Person(2))
		if d := p1.Distance(p2); d <= 0.6 {
			t.Fatalf("fake people 1 and 2 are %v apart, the test needs > 0.6", d)
		}
		wantVerdict(t, f.CheckFaces(ctx, []embed.Descriptor{p1}), exclusion.Block, req.ID)
		pol.mu.Lock()
		seen := slices.Clone(pol.seen)
		pol.mu.Unlock()
		want := []float64{0}
		if whole {
			want = append(want, p1.Distance(p2))
		}
		if len(seen) != len(want) {
			t.Fatalf("whole %v: Decide saw %d candidates %+v, want %d", whole, len(seen), seen, len(want))
		}
		for i, c := range seen {
			if c.RequestID != req.ID || math.Abs(c.Distance-want[i]) > 1e-5 {
				t.Errorf("whole %v: candidate %d = %+v, want request %s at %v", whole, i, c, req.ID, want[i])
			}
		}
	}
}
