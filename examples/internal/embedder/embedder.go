// Package embedder builds, for the example programs, the face embedder the
// operator chose with flags: one set of flags and one constructor for every
// program that describes faces (faceoptout init, submit, check, embed;
// bench embed, bench eval).
//
// # Basics
//
//	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
//	ef := embedder.Register(fs, os.Getenv) // --embedder dlib|onnx, --models, --min-face, ...
//	_ = fs.Parse(args)
//	emb, err := ef.New()                   // embed.Dlib or onnx.Embedder
//	defer emb.Close()
//
// # Caveats
//
// --embedder defaults to dlib (Register) or to the program's choice
// (RegisterDefault: the operator CLI's is onnx). The other flag defaults
// come from embed.DefaultDlibConfig and onnx.DefaultConfig;
// the models directory (dlib's files, and the ONNX model, landmark model
// and runtime library when their paths are relative) from --models, else
// $FACEOPTOUT_MODELS (looked up through the Getenv main passes), else
// ./models. The detection flags (--min-face, --detector, --workers,
// --max-upsample-pixels) apply to both embedders: the ONNX embedder finds
// faces with dlib's HOG scan.
package embedder

import (
	"context"
	"flag"
	"fmt"
	"runtime"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/examples/internal/progenv"
)

// Kinds of embedder --embedder selects.
const (
	Dlib = "dlib"
	ONNX = "onnx"
)

// Embedder is what the programs use of either embedder.
type Embedder interface {
	embed.Embedder
	// FacesBytesWithStats finds and describes the faces of an encoded
	// image, with per-stage timings.
	FacesBytesWithStats(ctx context.Context, data []byte) ([]embed.Face, embed.Stats, error)
	// Close releases the models.
	Close() error
}

var (
	_ Embedder = (*embed.Dlib)(nil)
	_ Embedder = (*onnx.Embedder)(nil)
)

// Flags are the embedder's settings as the flags set them.
type Flags struct {
	// Kind is Dlib or ONNX (--embedder).
	Kind string
	// KindSet reports whether --embedder was given (Kind is otherwise the
	// program's default).
	KindSet bool
	// Dlib configures the dlib embedder and the ONNX embedder's detection;
	// its ModelsDir is resolved by DlibConfig.
	Dlib embed.DlibConfig
	// ONNX configures the ONNX embedder; its Detection is Dlib and its
	// ModelsDir is resolved by ONNXConfig.
	ONNX onnx.Config

	models string
	env    progenv.Getenv
}

// Register adds the embedder's flags to fs, with dlib as --embedder's
// default. env is how main reads the environment (os.Getenv).
func Register(fs *flag.FlagSet, env progenv.Getenv) *Flags {
	return RegisterDefault(fs, env, Dlib)
}

// RegisterDefault is Register with kind (Dlib or ONNX) as --embedder's
// default.
func RegisterDefault(fs *flag.FlagSet, env progenv.Getenv, kind string) *Flags {
	f := Defaults(env, "", kind)
	cfg, oc := &f.Dlib, &f.ONNX
	fs.Func("embedder", "face embedder: dlib or onnx (default "+kind+")", func(s string) error {
		if s != Dlib && s != ONNX {
			return fmt.Errorf("%q is neither %s nor %s", s, Dlib, ONNX)
		}
		f.Kind, f.KindSet = s, true
		return nil
	})
	fs.StringVar(&f.models, "models", "", "directory of the model files (default $"+progenv.ModelsEnv+", else models)")
	fs.IntVar(&cfg.MinFaceSize, "min-face", cfg.MinFaceSize, "smallest face side to find, in full-resolution pixels")
	fs.Func("detector", "dlib's face detector: hog or cnn (default hog; onnx: hog only)", func(s string) error {
		cfg.Detector = embed.Detector(s)
		return nil
	})
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "images processed at once")
	fs.IntVar(&cfg.Jitter, "jitter", cfg.Jitter, "dlib: average descriptors over this many jittered chips")
	fs.IntVar(&cfg.MaxUpsamplePixels, "max-upsample-pixels", cfg.MaxUpsamplePixels, "largest upsampled copy scanned")
	fs.StringVar(&oc.Model.File, "onnx-model", oc.Model.File, "onnx: descriptor model file (relative: in the models directory)")
	fs.StringVar(&oc.Model.SHA256, "onnx-model-sha256", oc.Model.SHA256, "onnx: the model file's pinned hex SHA-256 (empty: any file)")
	fs.StringVar(&oc.Library, "onnx-library", oc.Library, "onnx: ONNX Runtime shared library (relative: in the models directory)")
	fs.Func("onnx-landmarks", "onnx: alignment points from dlib68 or onnx68 (default "+string(oc.Landmarks)+")", func(s string) error {
		oc.Landmarks = onnx.Landmarker(s)
		return nil
	})
	fs.StringVar(&oc.Shape68File, "shape68", oc.Shape68File, "onnx with dlib68: dlib's 68-point predictor")
	return f
}

// Defaults returns the flags' values without a flag set: kind (Dlib or
// ONNX) as the default kind, the models in models (else
// $FACEOPTOUT_MODELS, else ./models), every other setting its default. For
// programs whose own flags would clash with Register's.
func Defaults(env progenv.Getenv, models, kind string) *Flags {
	return &Flags{Kind: kind, Dlib: embed.DefaultDlibConfig(), ONNX: onnx.DefaultConfig(), models: models, env: env}
}

// KindOf returns the kind of embedder that describes faces with m: Dlib
// for dlib's model, ONNX for any other.
func KindOf(m embed.Model) string {
	if m.Name == embed.DlibModelName {
		return Dlib
	}
	return ONNX
}

// ModelsDir returns the models directory: --models, else
// $FACEOPTOUT_MODELS, else models.
func (f *Flags) ModelsDir() string { return progenv.ModelsDir(f.models, f.env) }

// DlibConfig returns the dlib configuration with ModelsDir resolved.
func (f *Flags) DlibConfig() embed.DlibConfig {
	cfg := f.Dlib
	cfg.ModelsDir = f.ModelsDir()
	return cfg
}

// ONNXConfig returns the ONNX configuration: its detection is DlibConfig,
// its ModelsDir resolved.
func (f *Flags) ONNXConfig() onnx.Config {
	cfg := f.ONNX
	cfg.Detection = f.DlibConfig()
	cfg.ModelsDir = f.ModelsDir()
	return cfg
}

// Settings describes the chosen embedder's configuration, for caches keyed
// on what changes descriptors.
func (f *Flags) Settings() string {
	if f.Kind == ONNX {
		return fmt.Sprintf("%s %+v", f.Kind, f.ONNXConfig())
	}
	return fmt.Sprintf("%s %+v", f.Kind, f.DlibConfig())
}

// Workers returns the number of images the embedder processes at once:
// --workers, or one per CPU when it is 0 (as the embedders take it).
func (f *Flags) Workers() int {
	if f.Dlib.Workers > 0 {
		return f.Dlib.Workers
	}
	return runtime.NumCPU()
}

// NewDlib loads the dlib embedder, whatever --embedder says. Close it when
// done.
func (f *Flags) NewDlib() (*embed.Dlib, error) {
	return embed.NewDlib(f.DlibConfig())
}

// New loads the embedder --embedder chose. Close it when done.
func (f *Flags) New() (Embedder, error) {
	if f.Kind == ONNX {
		return onnx.New(f.ONNXConfig())
	}
	return f.NewDlib()
}
