package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

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
