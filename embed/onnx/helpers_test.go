package onnx_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// onnxFiles are the files the default Config needs in the models directory.
var onnxFiles = []string{"fr_feature.onnx", "fr_landmark.onnx", "libonnxruntime.so.1"}

// onnxConfig returns DefaultConfig with the test models directory, or skips
// t (fails it under CI) when a file is missing.
func onnxConfig(t testing.TB) onnx.Config {
	t.Helper()
	dir := testenv.Models(t)
	cfg := onnx.DefaultConfig()
	cfg.ModelsDir = dir
	for _, f := range append([]string{cfg.Shape68File}, onnxFiles...) {
		p := f
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, f)
		}
		if _, err := os.Stat(p); err != nil {
			if testenv.CI() {
				t.Fatalf("CI=true: %s missing; run make models (scripts/fetch-onnx.sh) and install libdlib-data", p)
			}
			t.Skipf("%s missing; run make models (scripts/fetch-onnx.sh) and install libdlib-data", p)
		}
	}
	return cfg
}
