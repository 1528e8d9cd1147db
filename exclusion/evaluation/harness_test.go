package evaluation_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/evaluation"
)

// syntheticSet returns people (at most 120) far apart (centres on distinct axes, about
// 1.41 apart), each with n faces whose pairwise distances are spread
// (spread[i] for person i, 0.2 otherwise), with quality q[i] (zero
// otherwise).
func syntheticSet(people, n int, spread map[int]float64, q map[int]embed.Quality) *evaluation.Set {
	s := &evaluation.Set{Name: "synthetic"}
	for i := range people {
		a := 0.2 / math.Sqrt2
		if d, ok := spread[i]; ok {
			a = d / math.Sqrt2
		}
		for j := range n {
			d := make(embed.Descriptor, embed.DlibDim)
			d[i] = 1
			d[embed.DlibDim-1-j] = float32(a) // people use axes 0..people-1
			s.Faces = append(s.Faces, evaluation.Face{Person: fmt.Sprintf("p%02d", i), Source: fmt.Sprintf("p%02d/%d", i, j), Descriptor: d, Quality: q[i]})
		}
	}
	return s
}

// The harness end to end on a set whose answer is known: one person's
// photos are 0.65 apart and weak detections, everyone else's 0.2 apart;
// different people are 1.41 apart. The global threshold 0.6 misses exactly
// that person's other photos in every split that enrols them; the Filter's
// weak-face rule sends them to review; nobody else is ever kept out.
func TestHarnessKnownAnswer(t *testing.T) {
	weak := embed.Quality{Size: 150, Score: 0.1, Pose: "left"}
	set := syntheticSet(8, 3, map[int]float64{0: 0.65}, map[int]embed.Quality{0: weak})
	p := evaluation.Protocol{Enrolled: 4, PerPerson: 1, Splits: 10, Seed: 3}
	splits, err := p.Partition(set, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Expected misses: 2 other photos of p00 per split that enrols p00.
	misses, mated, strangers := 0, 0, 0
	for _, sp := range splits {
		for _, e := range sp.Enrolled {
			if e.Person == "p00" {
				misses += 2
			}
		}
		for _, pr := range sp.Probes {
			if pr.Mated {
				mated++
			} else {
				strangers++
			}
		}
	}
	if misses == 0 || mated != 10*4*2 || strangers != 10*4*3 {
		t.Fatalf("splits: %d misses, %d mated, %d strangers; the seed must enrol p00 at least once", misses, mated, strangers)
	}
	var plain, ruled evaluation.VerdictCounts
	g := evaluation.ThresholdMethod(0.6, 0.6, &plain)
	gs, err := evaluation.Run(g, splits)
	if err != nil {
		t.Fatal(err)
	}
	w := evaluation.ThresholdMethod(0.6, 0.6, &ruled)
	w.Weak = exclusion.DefaultWeakFaceRule()
	ws, err := evaluation.Run(w, splits)
	if err != nil {
		t.Fatal(err)
	}
	fnmr, fpir := gs.At(0.6)
	if fnmr.K != misses || fnmr.N != mated || fpir.K != 0 || fpir.N != strangers {
		t.Errorf("global 0.6: FNMR %d/%d, FPIR %d/%d; want %d/%d and 0/%d", fnmr.K, fnmr.N, fpir.K, fpir.N, misses, mated, strangers)
	}
	if plain.Mated[exclusion.Allow] != misses || plain.Strangers[exclusion.Allow] != strangers {
		t.Errorf("global 0.6 verdicts %+v, want %d mated allowed and every stranger allowed", plain, misses)
	}
	if ruled.Mated[exclusion.Allow] != 0 || ruled.Mated[exclusion.Review] != misses || ruled.WeakMated != misses ||
		ruled.Strangers[exclusion.Allow] != strangers || ruled.WeakStrangers != 0 {
		t.Errorf("with the weak-face rule: verdicts %+v, want no mated probe allowed, %d reviewed by the rule, every stranger allowed", ruled, misses)
	}
	// The weak-face rule changes verdicts, not the DET curve.
	if f, _ := ws.At(0.6); f.K != misses {
		t.Errorf("weak-rule scores: %d misses at 0.6, want %d (the curve is the policy's)", f.K, misses)
	}
	// At FPIR 0 the best threshold lies just under the nearest stranger
	// (1.41), so nothing is missed.
	if f, th, _, _ := gs.FNMRAtFPIR(0.001, 50); f != 0 || th < 0.65 || th > 1.5 {
		t.Errorf("FNMR at FPIR 0.1 %% = %v at threshold %v, want 0 between 0.65 and 1.5", f, th)
	}

	var md, png bytes.Buffer
	res := []evaluation.Result{
		{Method: g.Name(), Scores: gs, Block: 0.6, Review: 0.6, Verdicts: &plain},
		{Method: "with rule", Scores: ws, Block: 0.6, Review: 0.6, Verdicts: &ruled},
	}
	if err := evaluation.WriteMarkdown(&md, "synthetic", res, 50); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("| global threshold 0.60 | %.1f %%", 100*float64(misses)/float64(mated)),
		fmt.Sprintf("(%d/%d) | 0.0 %%", misses, mated),
		fmt.Sprintf("| with rule | 0.0 %% [0.0 %%, %.1f %%] (0/%d)", 100*evaluation.Wilson(0, mated, evaluation.Z95).Hi, mated),
		fmt.Sprintf("the weak-face rule sent %d mated and 0 stranger probes to review", misses),
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	if err := evaluation.WriteDET(&png, "synthetic", res); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG")) {
		t.Errorf("WriteDET wrote %d bytes, not a PNG", png.Len())
	}
}

// wholeRecorder is a ThresholdPolicy that asks for whole requests and
// records the candidates Decide is given.
type wholeRecorder struct {
	exclusion.ThresholdPolicy
	whole bool
	seen  *[][]exclusion.Candidate
}

func (p *wholeRecorder) WholeRequests() bool { return p.whole }

// nearestScore scores a probe by its nearest enrolled face.
type nearestScore struct{}

func (nearestScore) Score(_ embed.Descriptor, cands []exclusion.Candidate) float64 {
	best := math.Inf(1)
	for _, c := range cands {
		best = math.Min(best, c.Distance)
	}
	return best
}

func (p *wholeRecorder) Decide(probe embed.Descriptor, cands []exclusion.Candidate) (exclusion.Verdict, []exclusion.Candidate) {
	*p.seen = append(*p.seen, cands)
	return p.ThresholdPolicy.Decide(probe, cands)
}

// PolicyMethod passes whole requests to a RequestPolicy, as the Filter
// does: a person enrolled with two photos 1.2 apart is a candidate with
// both photos (one beyond the radius) only when the policy asks for it.
func TestHarnessWholeRequests(t *testing.T) {
	set := syntheticSet(6, 3, map[int]float64{0: 1.2, 1: 1.2, 2: 1.2, 3: 1.2, 4: 1.2, 5: 1.2}, nil)
	p := evaluation.Protocol{Enrolled: 2, PerPerson: 2, Splits: 1, Seed: 1}
	splits, err := p.Partition(set, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, whole := range []bool{false, true} {
		var seen [][]exclusion.Candidate
		m := &evaluation.PolicyMethod{
			Label: "recorder",
			New: func([]embed.Descriptor) (exclusion.Policy, error) {
				return &wholeRecorder{ThresholdPolicy: exclusion.ThresholdPolicy{Block: 0.6, Review: 0.6}, whole: whole, seen: &seen}, nil
			},
			Score:    func([]embed.Descriptor) (evaluation.Scorer, error) { return nearestScore{}, nil },
			Weak:     exclusion.WeakFaceRule{Disabled: true},
			Verdicts: &evaluation.VerdictCounts{},
		}
		if _, err := evaluation.Run(m, splits); err != nil {
			t.Fatal(err)
		}
		// Each person's photos are 1.2 apart, other people 1.41 or more:
		// no candidate is within 0.6, so Decide sees none either way.
		for _, c := range seen {
			if len(c) != 0 {
				t.Fatalf("whole %v: candidates %+v beyond the radius", whole, c)
			}
		}
	}
	// Now a probe within the radius of one enrolled photo: move every
	// mated probe onto its person's first enrolled photo.
	for i := range splits[0].Probes {
		pr := &splits[0].Probes[i]
		for _, e := range splits[0].Enrolled {
			if pr.Mated && e.Person == pr.Person {
				pr.Descriptor = slices.Clone(e.Faces[0])
				pr.Descriptor[0] += 0.1
			}
		}
	}
	for _, whole := range []bool{false, true} {
		var seen [][]exclusion.Candidate
		m := &evaluation.PolicyMethod{
			Label: "recorder",
			New: func([]embed.Descriptor) (exclusion.Policy, error) {
				return &wholeRecorder{ThresholdPolicy: exclusion.ThresholdPolicy{Block: 0.6, Review: 0.6}, whole: whole, seen: &seen}, nil
			},
			Score:    func([]embed.Descriptor) (evaluation.Scorer, error) { return nearestScore{}, nil },
			Weak:     exclusion.WeakFaceRule{Disabled: true},
			Verdicts: &evaluation.VerdictCounts{},
		}
		if _, err := evaluation.Run(m, splits); err != nil {
			t.Fatal(err)
		}
		want := 1
		if whole {
			want = 2
		}
		n := 0
		for _, c := range seen {
			if len(c) == 0 {
				continue
			}
			n++
			if len(c) != want || c[0].Distance > 0.6 || (whole && (c[1].Distance <= 0.6 || c[1].RequestID != c[0].RequestID)) {
				t.Errorf("whole %v: candidates %+v, want %d of one request, nearest first", whole, c, want)
			}
		}
		if n != 2 {
			t.Errorf("whole %v: %d probes had candidates, want the 2 moved mated probes", whole, n)
		}
	}
}

// Every researched rule separates a well-separated set, and the lda
// transform refuses a cohort without labels.
func TestResearchMethods(t *testing.T) {
	set := syntheticSet(70, 3, nil, nil)
	p := evaluation.Protocol{Enrolled: 10, PerPerson: 2, Cohort: 50, Splits: 2, Seed: 1}
	splits, err := p.Partition(set, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range evaluation.ResearchMethods() {
		sc, err := evaluation.Run(m, splits)
		if err != nil {
			t.Fatalf("%s: %v", m.Name(), err)
		}
		if f, _, _, _ := sc.FNMRAtFPIR(0.05, 0); f != 0 {
			t.Errorf("%s: FNMR at FPIR 5 %% = %v, want 0", m.Name(), f)
		}
	}
	for i := range splits {
		splits[i].CohortPeople = nil
	}
	if _, err := evaluation.Run(evaluation.Research{Transform: "lda", Shrink: 0.5, Norm: "as", Fuse: "mix", K: 20}, splits); err == nil {
		t.Error("lda without cohort labels succeeded")
	}
}
