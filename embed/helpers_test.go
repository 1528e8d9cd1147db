package embed_test

import (
	"image"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/imageutil"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// decodeFile decodes a test image with imageutil, as callers must.
func decodeFile(t testing.TB, path string) *image.NRGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := imageutil.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img.RGB
}

var (
	sharedMu sync.Mutex
	shared   = map[int]*embed.Dlib{}
)

// newDlib returns an embedder with the default config and the given
// MinFaceSize, shared by the tests of the package (never closed: the
// process ends).
func newDlib(t testing.TB, minFace int) *embed.Dlib {
	t.Helper()
	dir := testenv.Models(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if d := shared[minFace]; d != nil {
		return d
	}
	cfg := embed.DefaultDlibConfig()
	cfg.ModelsDir = dir
	cfg.MinFaceSize = minFace
	d, err := embed.NewDlib(cfg)
	if err != nil {
		t.Fatal(err)
	}
	shared[minFace] = d
	return d
}

func facesPath(t testing.TB, parts ...string) string {
	return filepath.Join(append([]string{testenv.Faces(t)}, parts...)...)
}

func modelsForBench(b *testing.B) string { return testenv.Models(b) }
