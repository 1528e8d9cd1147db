package main

import (
	"math"
	"testing"

	"github.com/faceoptout/faceoptout/examples/internal/embedder"
)

func TestNormalise(t *testing.T) {
	tests := []struct {
		name string
		in   []float32
		want []float32
	}{
		{"scaled", []float32{3, 4}, []float32{0.6, 0.8}},
		{"already unit", []float32{0, -1, 0}, []float32{0, -1, 0}},
		{"zero stays zero", []float32{0, 0}, []float32{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := append([]float32(nil), tt.in...)
			normalise(d)
			for i := range d {
				if math.Abs(float64(d[i]-tt.want[i])) > 1e-6 {
					t.Fatalf("normalise(%v) = %v, want %v", tt.in, d, tt.want)
				}
			}
		})
	}
}

func TestBulkDefaults(t *testing.T) {
	tests := []struct {
		kind          string
		widen, shrink float64
	}{
		{embedder.Dlib, 7, 0},
		{embedder.ONNX, 1, 0.15},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			if w, s := defaultWiden(tt.kind), defaultShrink(tt.kind); w != tt.widen || s != tt.shrink {
				t.Errorf("widen %g, shrink %g; want %g, %g", w, s, tt.widen, tt.shrink)
			}
		})
	}
}
