package main

import (
	"testing"
	"time"
)

func TestMedianRun(t *testing.T) {
	runs := func(secs ...float64) []*benchRun {
		var rs []*benchRun
		for _, s := range secs {
			rs = append(rs, &benchRun{name: "p", faces: make([][]benchFace, 10),
				elapsed: time.Duration(s * float64(time.Second)), cpu: time.Duration(2 * s * float64(time.Second))})
		}
		return rs
	}
	for _, tc := range []struct {
		name     string
		secs     []float64
		wantSecs float64
		wantName string
	}{
		{"one round is itself", []float64{2}, 2, "p"},
		{"odd count: the middle", []float64{1, 4, 2}, 2, "p [3 rounds 2.50-10.00]"},
		{"even count: the slower middle", []float64{1, 2, 4, 5}, 4, "p [4 rounds 2.00-10.00]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := runs(tc.secs...)
			m := medianRun(rs)
			if got := m.elapsed.Seconds(); got != tc.wantSecs {
				t.Errorf("median round took %gs, want %gs", got, tc.wantSecs)
			}
			if m.cpu != 2*m.elapsed {
				t.Errorf("cpu %v does not belong to the round of %v", m.cpu, m.elapsed)
			}
			if m.name != tc.wantName {
				t.Errorf("name %q, want %q", m.name, tc.wantName)
			}
			if len(rs) > 1 && rs[0].name != "p" {
				t.Errorf("medianRun renamed its input: %q", rs[0].name)
			}
		})
	}
}
