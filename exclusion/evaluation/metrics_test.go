package evaluation

import (
	"math"
	"testing"
)

func TestWilson(t *testing.T) {
	tests := []struct {
		name   string
		k, n   int
		lo, hi float64
	}{
		{"none of ten", 0, 10, 0, 0.27753},
		{"half of ten", 5, 10, 0.23659, 0.76341},
		{"all of ten", 10, 10, 0.72247, 1},
		{"one of a hundred", 1, 100, 0.00177, 0.05449},
		{"no trials", 0, 0, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Wilson(tc.k, tc.n, Z95)
			if math.Abs(r.Lo-tc.lo) > 1e-4 || math.Abs(r.Hi-tc.hi) > 1e-4 {
				t.Errorf("Wilson(%d, %d) = [%.5f, %.5f], want [%.5f, %.5f]", tc.k, tc.n, r.Lo, r.Hi, tc.lo, tc.hi)
			}
		})
	}
}

func TestScores(t *testing.T) {
	s := &Scores{
		Mated:     []float64{0.1, 0.2, 0.3, 0.7},
		Strangers: []float64{0.25, 0.5, 0.8, 0.9, 1.0},
	}
	tests := []struct {
		name       string
		t          float64
		miss, fpos int
	}{
		{"below everything", 0.05, 4, 0},
		{"at a mated score", 0.2, 2, 0},
		{"between", 0.3, 1, 1},
		{"at a stranger score", 0.5, 1, 2},
		{"above everything", 2, 0, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, p := s.At(tc.t)
			if f.K != tc.miss || f.N != 4 || p.K != tc.fpos || p.N != 5 {
				t.Errorf("At(%v) = FNMR %d/%d FPIR %d/%d, want %d/4 %d/5", tc.t, f.K, f.N, p.K, p.N, tc.miss, tc.fpos)
			}
		})
	}
	// FPIR <= 20 % allows one stranger (0.25) below the threshold: the
	// threshold stays just under 0.5, so mated 0.7 is the only miss.
	if f, th, _, _ := s.FNMRAtFPIR(0.2, 0); f != 0.25 || !(th < 0.5 && th > 0.49) {
		t.Errorf("FNMRAtFPIR(0.2) = %v at %v, want 0.25 just under 0.5", f, th)
	}
	// FPIR 0: the threshold stays under 0.25, so 0.3 and 0.7 are missed.
	if f, _, _, _ := s.FNMRAtFPIR(0, 0); f != 0.5 {
		t.Errorf("FNMRAtFPIR(0) = %v, want 0.5", f)
	}
	det := s.DET(0)
	if len(det) != 9 || det[0].FNMR != 0.75 || det[len(det)-1].FPIR != 1 {
		t.Errorf("DET = %+v", det)
	}
}

func TestPersonFromFilename(t *testing.T) {
	for in, want := range map[string]string{"jimin.jpg": "jimin", "jimin12.jpg": "jimin", "dir/tzuyu2.png": "tzuyu", "a1b2.jpeg": "a1b"} {
		if got := PersonFromFilename(in); got != want {
			t.Errorf("PersonFromFilename(%q) = %q, want %q", in, got, want)
		}
	}
}
