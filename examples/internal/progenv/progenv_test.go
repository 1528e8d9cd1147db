package progenv_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/examples/internal/progenv"
)

func TestDirs(t *testing.T) {
	env := func(m map[string]string) progenv.Getenv {
		return func(k string) string { return m[k] }
	}
	set := env(map[string]string{progenv.ModelsEnv: "/m", progenv.FacesEnv: "/f"})
	for _, tc := range []struct {
		name       string
		flag       string
		env        progenv.Getenv
		wantModels string
		wantFaces  string
	}{
		{"flag wins", "/flag", set, "/flag", "/flag"},
		{"environment next", "", set, "/m", "/f"},
		{"working directory last", "", env(nil), "models", "../shared/faces"},
		{"nil environment", "", nil, "models", "../shared/faces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := progenv.ModelsDir(tc.flag, tc.env); got != tc.wantModels {
				t.Errorf("ModelsDir = %q, want %q", got, tc.wantModels)
			}
			if got := progenv.FacesDir(tc.flag, tc.env); got != tc.wantFaces {
				t.Errorf("FacesDir = %q, want %q", got, tc.wantFaces)
			}
		})
	}
}

func TestBBTDir(t *testing.T) {
	env := func(k string) string {
		if k == progenv.FacesEnv {
			return "/shared/faces"
		}
		return ""
	}
	// The package's directory has neither ../shared/faces/bbt nor
	// testdata/bbt: the default is the path relative to the repository's root.
	for _, tc := range []struct {
		name string
		flag string
		env  progenv.Getenv
		want string
	}{
		{"flag wins", "/flag/bbt", env, "/flag/bbt"},
		{"bbt in the environment's faces", "", env, "/shared/faces/bbt"},
		{"testdata last", "", nil, "testdata/bbt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := progenv.BBTDir(tc.flag, tc.env); got != tc.want {
				t.Errorf("BBTDir = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckModels(t *testing.T) {
	dir := t.TempDir()
	for i, f := range progenv.ModelFiles {
		if err := progenv.CheckModels(dir); !errors.Is(err, progenv.ErrNoModels) {
			t.Fatalf("with %d of %d files: %v, want ErrNoModels", i, len(progenv.ModelFiles), err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := progenv.CheckModels(dir); err != nil {
		t.Errorf("all files present: %v", err)
	}
}
