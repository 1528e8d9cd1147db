package evaluation_test

import (
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/cohort"
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
	unfusedCfg := cohort.DefaultConfig()
	unfusedCfg.PerFace = true
	unfused, err := evaluation.Run(evaluation.CohortMethod(unfusedCfg, nil), splits)
	if err != nil {
		t.Fatal(err)
	}
	var v evaluation.VerdictCounts
	fused, err := evaluation.Run(evaluation.CohortMethod(cohort.DefaultConfig(), &v), splits)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fpir, globalMin, fusedMax float64
	}{
		{0.05, 0.70, 0.60},
		{0.01, 0.84, 0.80},
	} {
		g, _, _, _ := global.FNMRAtFPIR(tc.fpir, 0)
		u, _, _, _ := unfused.FNMRAtFPIR(tc.fpir, 0)
		c, _, _, _ := fused.FNMRAtFPIR(tc.fpir, 0)
		t.Logf("FPIR %.2f: FNMR global %.3f, cohort %.3f, cohort fused %.3f", tc.fpir, g, u, c)
		if g < tc.globalMin {
			t.Errorf("FPIR %.2f: global FNMR %.3f, baseline expected >= %.2f", tc.fpir, g, tc.globalMin)
		}
		if c > tc.fusedMax || c > g-0.10 || c > u {
			t.Errorf("FPIR %.2f: fused cohort FNMR %.3f, want <= %.2f, 10 points under global %.3f and not above unfused %.3f", tc.fpir, c, tc.fusedMax, g, u)
		}
	}
	// The default operating point.
	f, fp := fused.At(cohort.DefaultConfig().Review)
	t.Logf("default: FNMR %.3f FPIR %.3f; verdicts mated %v strangers %v", f.Value(), fp.Value(), v.Mated, v.Strangers)
	if f.Value() > 0.30 || fp.Value() > 0.42 {
		t.Errorf("default: FNMR %.3f (want <= 0.30), FPIR %.3f (want <= 0.42)", f.Value(), fp.Value())
	}
	allowed := v.Mated[exclusion.Allow]
	if allowed != f.K {
		t.Errorf("Decide allowed %d mated probes, Score says %d", allowed, f.K)
	}
}
