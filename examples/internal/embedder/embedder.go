// Package embedder builds, for the example programs, the face embedder the
// operator chose with flags: one set of flags and one constructor for every
// program that describes faces.
//
// # Basics
//
//	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
//	ef := embedder.Register(fs, os.Getenv) // --models, --min-face, --detector, --workers, ...
//	_ = fs.Parse(args)
//	d, err := ef.NewDlib()
//
// # Caveats
//
// Flag defaults come from DefaultDlibConfig, the models directory from
// --models, else $FACEOPTOUT_MODELS (looked up through the Getenv main
// passes), else ./models.
package embedder

import (
	"flag"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/examples/internal/progenv"
)

// Flags are the embedder's settings as the flags set them.
type Flags struct {
	// Dlib configures the dlib embedder; ModelsDir is resolved by Parse's
	// caller through ModelsDir.
	Dlib embed.DlibConfig

	models string
	env    progenv.Getenv
}

// Register adds the embedder's flags to fs. env is how main reads the
// environment (os.Getenv).
func Register(fs *flag.FlagSet, env progenv.Getenv) *Flags {
	f := &Flags{Dlib: embed.DefaultDlibConfig(), env: env}
	cfg := &f.Dlib
	fs.StringVar(&f.models, "models", "", "directory of the dlib model files (default $"+progenv.ModelsEnv+", else models)")
	fs.IntVar(&cfg.MinFaceSize, "min-face", cfg.MinFaceSize, "smallest face side to find, in full-resolution pixels")
	fs.Func("detector", "face detector: hog or cnn (default hog)", func(s string) error {
		cfg.Detector = embed.Detector(s)
		return nil
	})
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "images processed at once")
	fs.IntVar(&cfg.Jitter, "jitter", cfg.Jitter, "average descriptors over this many jittered chips")
	fs.IntVar(&cfg.MaxUpsamplePixels, "max-upsample-pixels", cfg.MaxUpsamplePixels, "largest upsampled copy scanned")
	return f
}

// ModelsDir returns the dlib models directory: --models, else
// $FACEOPTOUT_MODELS, else models.
func (f *Flags) ModelsDir() string { return progenv.ModelsDir(f.models, f.env) }

// DlibConfig returns the dlib configuration with ModelsDir resolved.
func (f *Flags) DlibConfig() embed.DlibConfig {
	cfg := f.Dlib
	cfg.ModelsDir = f.ModelsDir()
	return cfg
}

// NewDlib loads the dlib embedder. Close it when done.
func (f *Flags) NewDlib() (*embed.Dlib, error) {
	return embed.NewDlib(f.DlibConfig())
}
