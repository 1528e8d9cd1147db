// Package testenv locates the resources that faceoptout's tests need but the
// repository does not hold (the dlib model files and the shared face photos)
// and the faces/bbt photos of testdata/. It is for tests only: it imports
// package testing and finds the repository through the location of its own
// source file, so programs never import it (they use
// examples/internal/progenv).
//
// Outside CI a test whose resource is absent is skipped with a message that
// says how to provide it. Under CI (CI=true) an absent resource is a failure:
// tests that need models or faces must run there, never skip.
package testenv

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// ModelFiles are the dlib model files faceoptout loads.
var ModelFiles = []string{
	"dlib_face_recognition_resnet_model_v1.dat",
	"shape_predictor_5_face_landmarks.dat",
	"mmod_human_face_detector.dat",
}

// CI reports whether the tests run under CI, where nothing may be skipped for
// want of models or faces.
func CI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// RepoRoot returns the module's root directory, found from this source file.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ModelsDir returns the directory holding the dlib models:
// $FACEOPTOUT_MODELS, else models/ at the repository root. It may not exist.
func ModelsDir() string {
	if d := os.Getenv("FACEOPTOUT_MODELS"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), "models")
}

// FacesDir returns the shared faces directory: $FACEOPTOUT_FACES, else
// ../shared/faces beside the repository. It may not exist.
func FacesDir() string {
	if d := os.Getenv("FACEOPTOUT_FACES"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), "..", "shared", "faces")
}

// Models returns the models directory, or skips t (fails it under CI) when
// any model file is missing.
func Models(t testing.TB) string {
	t.Helper()
	d := ModelsDir()
	for _, f := range ModelFiles {
		if _, err := os.Stat(filepath.Join(d, f)); err != nil {
			missing(t, "dlib model "+f+" not found in "+d+"; run ./scripts/fetch-models.sh or set FACEOPTOUT_MODELS")
			return d
		}
	}
	return d
}

// ONNXFiles are the files of the ONNX embedder's default configuration
// (embed/onnx, scripts/fetch-onnx.sh) in the models directory, and
// Shape68File is Debian's libdlib-data 68-point predictor it aligns with.
var (
	ONNXFiles   = []string{"fr_feature.onnx", "fr_landmark.onnx", "libonnxruntime.so.1"}
	Shape68File = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
)

// ONNX returns the models directory, or skips t (fails it under CI) when a
// file of ONNXFiles or Shape68File is missing.
func ONNX(t testing.TB) string {
	t.Helper()
	d := ModelsDir()
	for _, f := range append([]string{Shape68File}, ONNXFiles...) {
		p := f
		if !filepath.IsAbs(p) {
			p = filepath.Join(d, f)
		}
		if _, err := os.Stat(p); err != nil {
			missing(t, p+" not found; run make models (scripts/fetch-onnx.sh) and install libdlib-data")
			return d
		}
	}
	return d
}

// Faces returns the shared faces directory, or skips t (fails it under CI)
// when it is absent.
func Faces(t testing.TB) string {
	t.Helper()
	d := FacesDir()
	if _, err := os.Stat(filepath.Join(d, "bbt")); err != nil {
		missing(t, "shared faces not found at "+d+"; put ../shared beside the repository or set FACEOPTOUT_FACES")
	}
	return d
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if CI() {
		t.Fatal("CI=true: " + msg)
		return
	}
	t.Skip(msg)
}
