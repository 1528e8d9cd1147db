package exclusion_test

import (
	"math"
	"slices"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

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
