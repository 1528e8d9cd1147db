package progenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/faceoptout/faceoptout/embed"
)

// Environment variables the example programs read (through the Getenv their
// main function passes).
const (
	// ModelsEnv names the directory of the dlib model files.
	ModelsEnv = "FACEOPTOUT_MODELS"
	// FacesEnv names the shared faces directory (bbt/, idols/, ...).
	FacesEnv = "FACEOPTOUT_FACES"
)

// Defaults relative to the working directory.
const (
	// DefaultModelsDir is where scripts/fetch-models.sh puts the models.
	DefaultModelsDir = "models"
	// DefaultFacesDir is the shared faces beside the repository, seen from
	// its root.
	DefaultFacesDir = "../shared/faces"
)

// Getenv looks up an environment variable; main passes os.Getenv, tests a
// map's lookup. A nil Getenv finds nothing.
type Getenv func(key string) string

func (g Getenv) get(key string) string {
	if g == nil {
		return ""
	}
	return g(key)
}

// ErrNoModels means a dlib model file is missing from the models directory.
var ErrNoModels = errors.New("progenv: dlib model files missing")

// ModelFiles are the dlib model files the programs load.
var ModelFiles = []string{embed.ResNetFile, embed.ShapePredictorFile, embed.CNNDetectorFile}

// ModelsDir returns flagValue, else $FACEOPTOUT_MODELS, else "models".
func ModelsDir(flagValue string, env Getenv) string {
	return first(flagValue, env.get(ModelsEnv), DefaultModelsDir)
}

// FacesDir returns flagValue, else $FACEOPTOUT_FACES, else
// "../shared/faces".
func FacesDir(flagValue string, env Getenv) string {
	return first(flagValue, env.get(FacesEnv), DefaultFacesDir)
}

// DefaultBBTDir is the repository's copy of the faces/bbt photos, seen
// from its root.
const DefaultBBTDir = "testdata/bbt"

// BBTDir returns the directory of the faces/bbt photos
// (<name>/<name>N.png, bbtN.jpg): flagValue, else bbt/ in
// $FACEOPTOUT_FACES when that is set, else ../shared/faces/bbt when it
// exists, else testdata/bbt.
func BBTDir(flagValue string, env Getenv) string {
	if flagValue != "" {
		return flagValue
	}
	if d := env.get(FacesEnv); d != "" {
		return filepath.Join(d, "bbt")
	}
	if d := filepath.Join(DefaultFacesDir, "bbt"); isDir(d) {
		return d
	}
	return DefaultBBTDir
}

func isDir(d string) bool {
	fi, err := os.Stat(d)
	return err == nil && fi.IsDir()
}

// CheckModels returns an error wrapping ErrNoModels, naming the first
// missing file and how to fetch the models, unless dir holds every file of
// ModelFiles.
func CheckModels(dir string) error {
	for _, f := range ModelFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("%w: %s not in %s: run make models (scripts/fetch-models.sh), or pass --models DIR or set %s",
				ErrNoModels, f, dir, ModelsEnv)
		}
	}
	return nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
