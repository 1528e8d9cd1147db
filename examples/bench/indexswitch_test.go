package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// TestBenchIndexSwitch runs `bench index -systems switch` on a small
// registry: the exact baseline, the background build with queries and adds
// beside it, and the graph once it answers, each a row of one table.
func TestBenchIndexSwitch(t *testing.T) {
	idols := filepath.Join(testenv.Faces(t), "idols", "idols.json")
	var stdout, stderr bytes.Buffer
	err := benchIndex(context.Background(), nil, []string{"-idols", idols, "-n", "3000", "-queries", "40",
		"-systems", "switch", "-exact-up-to", "500", "-efc", "40", "-ef", "32", "-slack", "0.2"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench index: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"| 3000 | exact (Index, ModeExact) | - | 1 core per query | 1.0000 | 1.0000 |",
		"| 3000 | Index, ModeAuto | during the build | ExactUpTo=500 |",
		"faces added during it (replayed)",
		"| 3000 | Index, ModeAuto | after the switch (HNSW) | M=24 efC=40 ef=32 ε=0.20 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestBenchIndexONNXData runs `bench index -data-model onnx` on a few
// faces/eastasian photos (linked into a temporary faces directory, their
// descriptors cached in another): 512-D unit-length data, the ONNX
// model's radii by default, the exact baseline and the graph in one
// switch table.
func TestBenchIndexONNXData(t *testing.T) {
	models, faces := testenv.ONNX(t), testenv.Faces(t)
	dir := t.TempDir()
	for _, person := range []string{"a_bao", "a_du", "ai_dai"} {
		if err := os.MkdirAll(filepath.Join(dir, "eastasian", person), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, photo := range []string{"1.jpg", "2.jpg"} {
			if err := os.Symlink(filepath.Join(faces, "eastasian", person, photo), filepath.Join(dir, "eastasian", person, photo)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	err := benchIndex(context.Background(), nil, []string{"-data-model", "onnx", "-models", models, "-faces", dir, "-cache", t.TempDir(),
		"-n", "1000", "-queries", "10", "-widen", "4", "-systems", "switch", "-exact-up-to", "200", "-efc", "40", "-ef", "32", "-slack", "0.2"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench index: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"data: 1000 enrolled (4 per person), 512-D, 10 queries",
		"of faces/eastasian (6 faces of 3 people)",
		"samples scaled to unit length",
		"decision agreement r=0.81 |",
		"decision agreement r=1.08 |",
		"| 1000 | exact (Index, ModeExact) | - | 1 core per query | 1.0000 | 1.0000 |",
		"| 1000 | Index, ModeAuto | after the switch (HNSW) | M=24 efC=40 ef=32 ε=0.20 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchIndexDataModelFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown model", []string{"-data-model", "arcface"}, `-data-model "arcface"`},
		{"embedder disagrees", []string{"-data-model", "dlib", "--embedder", "onnx"}, "the data's model is -data-model's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := benchIndex(context.Background(), nil, tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func TestDefaultIndexRadii(t *testing.T) {
	tests := []struct {
		kind, want string
	}{
		{embedder.Dlib, "0.45,0.6"},
		{embedder.ONNX, "0.81,1.08"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			if got := defaultIndexRadii(tt.kind); got != tt.want {
				t.Errorf("defaultIndexRadii(%s) = %q, want %q", tt.kind, got, tt.want)
			}
		})
	}
}
