package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCI(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  bool
	}{
		{"true", "true", true},
		{"TRUE", "TRUE", true},
		{"one", "1", true},
		{"empty", "", false},
		{"false", "false", false},
		{"other", "yes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.value)
			assert.Equal(t, tt.want, CI())
		})
	}
}

func TestRepoRoot(t *testing.T) {
	root := RepoRoot()
	_, err := os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "RepoRoot %s should hold go.mod", root)
}

func TestDirsFollowEnvironment(t *testing.T) {
	d := t.TempDir()
	t.Setenv("FACEOPTOUT_MODELS", d)
	t.Setenv("FACEOPTOUT_FACES", d)
	assert.Equal(t, d, ModelsDir())
	assert.Equal(t, d, FacesDir())

	t.Setenv("FACEOPTOUT_MODELS", "")
	t.Setenv("FACEOPTOUT_FACES", "")
	assert.Equal(t, filepath.Join(RepoRoot(), "models"), ModelsDir())
	assert.Equal(t, filepath.Join(RepoRoot(), "..", "shared", "faces"), FacesDir())
}

// fakeTB records what Models and Faces do when a resource is missing.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()             {}
func (f *fakeTB) Skip(args ...any)    { f.skipped = true }
func (f *fakeTB) Fatal(args ...any)   { f.failed = true }
func (f *fakeTB) Logf(string, ...any) {}

func TestMissingResourceSkipsOutsideCIAndFailsUnderCI(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("FACEOPTOUT_MODELS", empty)
	t.Setenv("FACEOPTOUT_FACES", empty)
	tests := []struct {
		name     string
		ci       string
		skipped  bool
		failed   bool
		resource func(testing.TB) string
	}{
		{"models outside CI", "", true, false, Models},
		{"models under CI", "true", false, true, Models},
		{"faces outside CI", "", true, false, Faces},
		{"faces under CI", "true", false, true, Faces},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			f := &fakeTB{}
			tt.resource(f)
			assert.Equal(t, tt.skipped, f.skipped, "skipped")
			assert.Equal(t, tt.failed, f.failed, "failed")
		})
	}
}

func TestBBTDir(t *testing.T) {
	shared := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(shared, "bbt"), 0o700))
	tests := []struct {
		name  string
		faces string
		want  string
	}{
		{"shared faces hold bbt", shared, filepath.Join(shared, "bbt")},
		{"else the repository's testdata", t.TempDir(), filepath.Join(RepoRoot(), "testdata", "bbt")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FACEOPTOUT_FACES", tt.faces)
			assert.Equal(t, tt.want, BBTDir())
		})
	}
}
