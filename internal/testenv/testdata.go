package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// TestdataDir returns the repository's testdata/ directory (the faces/bbt
// photos shipped with the code, see testdata/README.md).
func TestdataDir() string { return filepath.Join(RepoRoot(), "testdata") }

// BBTDir returns a directory holding the faces/bbt photos
// (<name>/<name>1..5.png and bbt1..5.jpg): the shared faces' bbt/ when
// present, else testdata/bbt. It may not exist.
func BBTDir() string {
	if d := filepath.Join(FacesDir(), "bbt"); isDir(d) {
		return d
	}
	return filepath.Join(TestdataDir(), "bbt")
}

// BBT returns BBTDir, or skips t (fails it under CI) when neither the shared
// faces nor testdata/bbt hold the photos.
func BBT(t testing.TB) string {
	t.Helper()
	d := BBTDir()
	if !isDir(d) {
		missing(t, "faces/bbt photos not found in "+d+" (testdata/bbt ships with the repository)")
	}
	return d
}

func isDir(d string) bool {
	fi, err := os.Stat(d)
	return err == nil && fi.IsDir()
}
