package evaluation_test

import (
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/evaluation"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// TestIdolsProtocol runs the idols.json open-set protocol (fewer splits than
// the README's 20, to stay fast under -race) and checks the figures
// EVALUATION.md reports, with margins for the smaller sample.
func TestIdolsProtocol(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := testenv.Faces(t)
	set, err := evaluation.LoadDescriptorFile(filepath.Join(dir, "idols", "idols.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Faces) != 1286 {
		t.Fatalf("%d faces, want 1286", len(set.Faces))
	}
	p := evaluation.IdolsProtocol()
	p.Splits = 4
	splits, err := p.Partition(set, nil)
	if err != nil {
		t.Fatal(err)
	}
	global, err := evaluation.Run(evaluation.ThresholdMethod(0.6, 0.6, nil), splits)
	if err != nil {
		t.Fatal(err)
	}
	var v evaluation.VerdictCounts
	cohort, err := evaluation.Run(evaluation.CohortMethod(exclusion.DefaultCohortConfig(), &v), splits)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fpir, globalMin, cohortMax float64
	}{
		{0.05, 0.70, 0.66},
		{0.01, 0.84, 0.86},
	} {
		g, _, _, _ := global.FNMRAtFPIR(tc.fpir, 0)
		c, _, _, _ := cohort.FNMRAtFPIR(tc.fpir, 0)
		t.Logf("FPIR %.2f: FNMR global %.3f, cohort %.3f", tc.fpir, g, c)
		if g < tc.globalMin {
			t.Errorf("FPIR %.2f: global FNMR %.3f, baseline expected >= %.2f", tc.fpir, g, tc.globalMin)
		}
		if c > tc.cohortMax || c > g-0.08 {
			t.Errorf("FPIR %.2f: cohort FNMR %.3f, want <= %.2f and 8 points under global %.3f", tc.fpir, c, tc.cohortMax, g)
		}
	}
	// The default operating point.
	f, fp := cohort.At(exclusion.DefaultCohortConfig().Review)
	t.Logf("default: FNMR %.3f FPIR %.3f; verdicts mated %v strangers %v", f.Value(), fp.Value(), v.Mated, v.Strangers)
	if f.Value() > 0.17 || fp.Value() > 0.66 {
		t.Errorf("default: FNMR %.3f (want <= 0.17), FPIR %.3f (want <= 0.66)", f.Value(), fp.Value())
	}
	allowed := v.Mated[exclusion.Allow]
	if allowed != f.K {
		t.Errorf("Decide allowed %d mated probes, Score says %d", allowed, f.K)
	}
}
