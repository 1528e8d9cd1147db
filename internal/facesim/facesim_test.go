package facesim_test

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/internal/facesim"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

func idols(t *testing.T) *facesim.Idols {
	t.Helper()
	d := testenv.Faces(t)
	id, err := facesim.LoadIdols(filepath.Join(d, "idols", "idols.json"))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestLoadIdols(t *testing.T) {
	id := idols(t)
	if got, want := len(id.Descriptors), 1286; got != want {
		t.Errorf("descriptors = %d, want %d", got, want)
	}
	if got, want := len(id.People), 134; got != want {
		t.Errorf("people = %d, want %d", got, want)
	}
}

func TestLoadIdolsErrors(t *testing.T) {
	tests := []struct {
		name, content string
	}{
		{"not json", "{"},
		{"no faces", `{"faces":[]}`},
		{"short descriptor", `{"faces":[{"descriptor":"AAAA","idol_id":"x"}]}`},
		{"bad base64", `{"faces":[{"descriptor":"!!","idol_id":"x"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "idols.json")
			if err := writeFile(p, tt.content); err != nil {
				t.Fatal(err)
			}
			if _, err := facesim.LoadIdols(p); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if _, err := facesim.LoadIdols(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("missing file: no error")
	}
}

// TestWidenCalibration checks the calibration the index benchmark relies on:
// widened by 7, different people have a median distance near 0.9 with about
// 0.1 % of pairs within 0.6, same-person pairs a median near 0.38.
func TestWidenCalibration(t *testing.T) {
	id := idols(t)
	m, err := facesim.Fit(id.Descriptors, id.Labels)
	if err != nil {
		t.Fatal(err)
	}
	w, err := m.Widen(7)
	if err != nil {
		t.Fatal(err)
	}
	s := w.PairStats(rand.New(rand.NewPCG(1, 2)), 5000)
	same, diff := facesim.Median(s.Same), facesim.Median(s.Diff)
	within := facesim.FractionWithin(s.Diff, 0.6)
	t.Logf("same median %.3f, diff median %.3f, diff within 0.6 %.4f%%", same, diff, 100*within)
	if same < 0.33 || same > 0.43 {
		t.Errorf("same-person median %.3f, want about 0.38", same)
	}
	if diff < 0.8 || diff > 1.0 {
		t.Errorf("different-person median %.3f, want about 0.9", diff)
	}
	if within > 0.01 {
		t.Errorf("different-person pairs within 0.6: %.4f, want about 0.001", within)
	}
}

func TestSynthetic(t *testing.T) {
	m, err := facesim.Synthetic(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	descs, labels, centres := m.Sample(rand.New(rand.NewPCG(3, 4)), 10, 3)
	if len(descs) != 30 || len(labels) != 30 || len(centres) != 10 || labels[29] != 9 {
		t.Fatalf("Sample shapes: %d %d %d last label %d", len(descs), len(labels), len(centres), labels[29])
	}
	s := m.PairStats(rand.New(rand.NewPCG(1, 2)), 2000)
	if same, diff := facesim.Median(s.Same), facesim.Median(s.Diff); same < 0.3 || same > 0.45 || diff < 0.8 || diff > 1.0 {
		t.Errorf("medians same %.3f diff %.3f", same, diff)
	}
}

func TestFitErrors(t *testing.T) {
	v := func(x float32) []float32 { return []float32{x, 0} }
	tests := []struct {
		name   string
		descs  [][]float32
		labels []int
	}{
		{"empty", nil, nil},
		{"length mismatch", [][]float32{v(1)}, []int{0, 1}},
		{"one person", [][]float32{v(1), v(2)}, []int{0, 0}},
		{"no repeats", [][]float32{v(1), v(2)}, []int{0, 1}},
		{"ragged", [][]float32{v(1), {1}}, []int{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := facesim.Fit(tt.descs, tt.labels); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
