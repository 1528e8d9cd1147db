package exclusion_test

import (
	"sync"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// recordingPolicy is a ThresholdPolicy that is also a Calibrator: it counts
// Calibrate calls and records the candidates Decide is given.
type recordingPolicy struct {
	exclusion.ThresholdPolicy
	mu    sync.Mutex // guards calls and seen
	calls int
	seen  []exclusion.Candidate
}

// calibrationOf is what the policy's Calibrate returns for d: positive and
// different for every fake person.
func calibrationOf(d embed.Descriptor) float64 { return 1 + float64(d[0])*float64(d[0]) }

func (p *recordingPolicy) Calibrate(d embed.Descriptor) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	return calibrationOf(d)
}

func (p *recordingPolicy) Decide(probe embed.Descriptor, cands []exclusion.Candidate) (exclusion.Verdict, []exclusion.Candidate) {
	p.mu.Lock()
	p.seen = append(p.seen, cands...)
	p.mu.Unlock()
	return p.ThresholdPolicy.Decide(probe, cands)
}

func TestFilterPassesCalibration(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	pol := &recordingPolicy{ThresholdPolicy: exclusion.ThresholdPolicy{Block: 0.6, Review: 0.6}}
	cfg := exclusion.DefaultFilterConfig()
	cfg.Policy = pol
	f, err := exclusion.NewFilter(reg, emb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	req := mustSubmit(t, reg, faceSubmission(photo(person(1))))
	mustApprove(t, reg, req.ID)
	enrolled := exclusiontest.Descriptor(exclusiontest.Person(1))

	const checks = 3
	for i := 0; i < checks; i++ {
		d := f.CheckFaces(ctx, []embed.Descriptor{enrolled})
		wantVerdict(t, d, exclusion.Block, req.ID)
	}
	pol.mu.Lock()
	defer pol.mu.Unlock()
	if len(pol.seen) != checks {
		t.Fatalf("Decide saw %d candidates, want %d", len(pol.seen), checks)
	}
	want := calibrationOf(enrolled)
	for i, c := range pol.seen {
		if c.Calibration != want {
			t.Errorf("check %d: Calibration %v, want Calibrate(enrolled) = %v", i, c.Calibration, want)
		}
	}
	if pol.calls != 1 {
		t.Errorf("Calibrate called %d times for one enrolled face over %d checks, want 1 (cached)", pol.calls, checks)
	}
}
