package progenv_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/faceoptout/faceoptout/internal/testenv"
)

// TestProgramsDoNotLinkTesting fails if a program (package main) under
// examples/ depends on package testing, with or without the
// gofacebaseline tag: programs never link test helpers.
func TestProgramsDoNotLinkTesting(t *testing.T) {
	gotool, err := exec.LookPath("go")
	if err != nil {
		if testenv.CI() {
			t.Fatalf("CI=true: the go command is not on PATH: %v", err)
		}
		t.Skipf("the go command is not on PATH: %v", err)
	}
	for _, tc := range []struct {
		name string
		tags string
	}{
		{"default build", ""},
		{"gofacebaseline", "gofacebaseline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(gotool, "list", "-tags", tc.tags,
				"-f", `{{if eq .Name "main"}}{{.ImportPath}} {{join .Deps " "}}{{end}}`,
				"github.com/faceoptout/faceoptout/examples/...")
			out, err := cmd.Output()
			if err != nil {
				var stderr string
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = string(ee.Stderr)
				}
				t.Fatalf("go list: %v\n%s", err, stderr)
			}
			programs := 0
			for line := range strings.Lines(string(out)) {
				fields := strings.Fields(line)
				if len(fields) == 0 {
					continue
				}
				programs++
				if slices.Contains(fields[1:], "testing") {
					t.Errorf("program %s depends on package testing", fields[0])
				}
			}
			if programs == 0 {
				t.Fatalf("go list found no program under examples/:\n%s", out)
			}
		})
	}
}
