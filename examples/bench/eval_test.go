package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
)

// writeDescriptors writes a descriptor file in idols.json's layout: people
// on distinct axes (1.41 apart), each with n faces spread apart from each
// other.
func writeDescriptors(t *testing.T, people, n int, spread float64) string {
	t.Helper()
	type idol struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	type face struct {
		Descriptor string `json:"descriptor"`
		IdolID     string `json:"idol_id"`
	}
	var f struct {
		Idols []idol `json:"idols"`
		Faces []face `json:"faces"`
	}
	for i := range people {
		id := fmt.Sprintf("p%02d", i)
		f.Idols = append(f.Idols, idol{ID: id, Name: id})
		for j := range n {
			v := make([]float32, 128)
			v[i] = 1
			v[127-j] = float32(spread / math.Sqrt2)
			raw := make([]byte, 4*128)
			for k, x := range v {
				binary.LittleEndian.PutUint32(raw[4*k:], math.Float32bits(x))
			}
			f.Faces = append(f.Faces, face{Descriptor: base64.StdEncoding.EncodeToString(raw), IdolID: id})
		}
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "faces.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The eval command end to end on a descriptor file whose answer is known:
// same-person photos 0.3 apart, different people 1.41 apart. At 0.6
// nothing is missed and nobody is kept out; at 0.2 every mated probe is
// missed. The report and the DET curve are written.
func TestEvalCommand(t *testing.T) {
	path := writeDescriptors(t, 30, 3, 0.3)
	for _, tc := range []struct {
		threshold string
		want      []string
	}{
		{"0.6", []string{
			"3 splits, 30 mated probes, 45 stranger probes in all.",
			"| global threshold 0.60 | 0.0 % [0.0 %, 11.4 %] (0/30) | 0.0 % [0.0 %, 7.9 %] (0/45) |",
			"| default: global 0.60 + weak-face rule",
			"| cohort policy, photos fused (K 20, block -0.020, review 0.000) + weak-face rule | 0.0 % [0.0 %, 11.4 %] (0/30) | 0.0 % [0.0 %, 7.9 %] (0/45) |",
		}},
		{"0.2", []string{
			"| global threshold 0.20 | 100.0 % [88.6 %, 100.0 %] (30/30) | 0.0 % [0.0 %, 7.9 %] (0/45) |",
		}},
	} {
		t.Run(tc.threshold, func(t *testing.T) {
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			err := cmdEval(context.Background(), nil, []string{"--descriptors", path, "--enrol", "5", "--per-person", "1",
				"--cohort-people", "20", "--splits", "3", "--bootstrap", "20", "--threshold", tc.threshold, "--out", out}, &stdout, &stderr)
			if err != nil {
				t.Fatalf("eval: %v\n%s", err, stderr.String())
			}
			md, err := os.ReadFile(filepath.Join(out, "eval.md"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(md, stdout.Bytes()) {
				t.Errorf("eval.md differs from stdout")
			}
			for _, w := range tc.want {
				if !strings.Contains(string(md), w) {
					t.Errorf("report lacks %q:\n%s", w, md)
				}
			}
			png, err := os.ReadFile(filepath.Join(out, "det.png"))
			if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
				t.Errorf("det.png: %v, %d bytes", err, len(png))
			}
		})
	}
	// Bad input fails, it does not report.
	var sink bytes.Buffer
	if err := cmdEval(context.Background(), nil, []string{"--descriptors", path, "--enrol", "40"}, &sink, &sink); err == nil {
		t.Errorf("eval with more enrolled people than the file holds succeeded")
	}
}

// TestOperatingPoint: eval's default threshold and weak-face distance are
// the chosen embedder's calibration, read from its configuration.
func TestOperatingPoint(t *testing.T) {
	tests := []struct {
		name                  string
		args                  []string
		threshold, weakReview float64
	}{
		{"dlib by default", nil, embed.DlibThreshold, embed.DlibWeakReview},
		{"dlib", []string{"--embedder", "dlib"}, embed.DlibThreshold, embed.DlibWeakReview},
		{"onnx", []string{"--embedder", "onnx"}, onnx.DefaultThreshold, onnx.DefaultConfig().Model.WeakReview},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("eval", flag.ContinueOnError)
			ef := embedder.Register(fs, nil)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			m := operatingPoint(ef)
			if m.Threshold != tt.threshold || m.WeakReview != tt.weakReview || m.Name == "" {
				t.Errorf("operatingPoint = %+v, want Threshold %v, WeakReview %v", m, tt.threshold, tt.weakReview)
			}
		})
	}
}

// TestParseSystems: --systems names, options and thresholds.
func TestParseSystems(t *testing.T) {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	ef := embedder.Register(fs, nil)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	got, err := parseSystems("dlib, onnx+flip+mean68+mirror+shift2+weak1.15@1.09,onnx+onnx68+noaa", ef)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d systems", len(got))
	}
	if s := got[0]; s.kind != embedder.Dlib || s.threshold != embed.DlibThreshold || s.weak != embed.DlibWeakReview {
		t.Errorf("dlib: %+v", s)
	}
	if s := got[1]; s.kind != embedder.ONNX || !s.onnx.Model.Flip || s.onnx.Landmarks != onnx.Mean68 || !s.aug.Mirror || s.aug.Shift != 2 || s.weak != 1.15 || s.threshold != 1.09 {
		t.Errorf("onnx+...: %+v", s)
	}
	if s := got[2]; s.onnx.Landmarks != onnx.ONNX68 || !s.onnx.NoAntialias || s.threshold != onnx.DefaultThreshold {
		t.Errorf("onnx+onnx68+noaa: %+v", s)
	}
	lm, err := parseSystems("onnx+detcrop+refine2+lids+edge+eyesnose,onnx+crop1.5+refine1,onnx+mouth0.25+robust2", ef)
	if err != nil {
		t.Fatal(err)
	}
	if l := lm[0].onnx.LandmarkModel; l.Crop != onnx.DetectCrop() || l.Refine != 2 || lm[0].onnx.FivePoints != onnx.FiveLids || !lm[0].onnx.EdgeFill || !lm[0].onnx.EyesNose {
		t.Errorf("onnx+detcrop+refine2+lids+edge+eyesnose: %+v, five points %q, edge %v", l, lm[0].onnx.FivePoints, lm[0].onnx.EdgeFill)
	}
	if l := lm[1].onnx.LandmarkModel; l.Crop != (onnx.LandmarkCrop{Scale: 1.5, OffsetY: onnx.DetectCrop().OffsetY}) || l.Refine != 1 ||
		lm[1].onnx.FivePoints != onnx.FiveCentres || lm[1].onnx.EdgeFill || lm[1].onnx.EyesNose {
		t.Errorf("onnx+crop1.5+refine1: %+v", l)
	}
	if c := lm[2].onnx; c.MouthWeight != 0.25 || c.RobustScale != 2 {
		t.Errorf("onnx+mouth0.25+robust2: mouth weight %v, robust scale %v", c.MouthWeight, c.RobustScale)
	}
	for _, bad := range []string{"", "arcface", "dlib+flip", "onnx+sharpen", "onnx@x", "onnx+shift-1", "onnx+weak3",
		"onnx+crop0", "onnx+crop9", "onnx+refine0", "onnx+refine4", "dlib+refine1", "onnx+robust0", "onnx+robust-1", "dlib+robust2"} {
		if _, err := parseSystems(bad, ef); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestEvalCohortImagesConflict: a cohort comes from one place.
func TestEvalCohortImagesConflict(t *testing.T) {
	path := writeDescriptors(t, 30, 3, 0.3)
	var sink bytes.Buffer
	err := cmdEval(context.Background(), nil, []string{"--descriptors", path, "--enrol", "5", "--per-person", "1",
		"--cohort-people", "0", "--cohort", path, "--cohort-images", t.TempDir(), "--threshold", "0.6"}, &sink, &sink)
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("--cohort with --cohort-images: %v", err)
	}
}
