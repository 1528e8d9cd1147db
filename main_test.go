package faceoptout_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/internal/testenv"
)

// modelsDir is where the examples find the dlib models.
var modelsDir = testenv.ModelsDir()

// TestMain runs the examples only when the dlib models are present, or
// under CI=true, where their absence fails the run (an Example cannot
// skip).
func TestMain(m *testing.M) {
	flag.Parse()
	for _, f := range testenv.ModelFiles {
		if _, err := os.Stat(filepath.Join(modelsDir, f)); err != nil && !testenv.CI() {
			fmt.Printf("skipping the examples: dlib model %s not found in %s (run ./scripts/fetch-models.sh or set FACEOPTOUT_MODELS)\n", f, modelsDir)
			_ = flag.Set("test.run", "^$")
			break
		}
	}
	os.Exit(m.Run())
}
