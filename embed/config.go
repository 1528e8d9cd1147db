package embed

import (
	"fmt"
	"runtime"

	"github.com/faceoptout/faceoptout/imageutil"
)

// Detector selects dlib's face detector.
type Detector string

const (
	// HOG is dlib's frontal_face_detector: five HOG filters (frontal, left,
	// right and frontal rotated either way), fast on a CPU.
	HOG Detector = "hog"
	// CNN is dlib's MMOD convolutional face detector
	// (mmod_human_face_detector.dat): finds more non-frontal faces, but is
	// far slower on a CPU.
	CNN Detector = "cnn"
)

// Model file names, looked up in DlibConfig.ModelsDir.
const (
	ShapePredictorFile = "shape_predictor_5_face_landmarks.dat"
	ResNetFile         = "dlib_face_recognition_resnet_model_v1.dat"
	CNNDetectorFile    = "mmod_human_face_detector.dat"
)

// DlibConfig configures NewDlib. Start from DefaultDlibConfig.
//
// As in every Config of faceoptout, the zero value of every field means
// DefaultDlibConfig's value (a zero limit never means "no bound"), so
// DlibConfig{ModelsDir: dir} is the default configuration; what is on by
// default is turned off by a field named for it (NoCropRetry). NewDlib
// fills the defaults in and validates the rest (ErrConfig, naming the
// field); Config reports the result.
type DlibConfig struct {
	// ModelsDir holds the dlib model files; it is required. A relative
	// path is relative to the working directory. The library never reads
	// the environment: programs take it from a flag or an environment
	// variable (the examples: --models, $FACEOPTOUT_MODELS).
	ModelsDir string
	// Detector is HOG or CNN; "" means HOG.
	Detector Detector
	// MinFaceSize is the side, in pixels of the full-resolution image, of
	// the smallest face that must be found. The image is scanned at the
	// scale where such a face has the detector's native size (80 px for the
	// HOG and the CNN): large photos are scanned downscaled, which
	// is what makes the detector fast; a MinFaceSize below the native size
	// upsamples, within MaxUpsamplePixels. The HOG's downscales snap to
	// its pyramid's grid, the largest (5/6)^k at or above 80/MinFaceSize,
	// so that the levels scanned are a full-size scan's (descriptors then
	// agree with a full-size scan's by construction): MinFaceSize 120
	// scans at (5/6)^2 and finds faces from 116 px (Stats.MinFace), 160 at
	// (5/6)^3 from 139 px. 0 means 80.
	MinFaceSize int
	// MaxUpsamplePixels bounds the upsampled copy scanned when MinFaceSize
	// is below the detector's native size: an image is never upsampled
	// beyond this many pixels, so in larger images the smallest face found
	// is larger than MinFaceSize (Stats.MinFace reports it). 0 means
	// 4,000,000.
	MaxUpsamplePixels int
	// Workers is the number of images processed at once, each with its own
	// copy of the models (about 30 MB each, plus the CNN's working memory).
	// 0 means one per CPU (runtime.NumCPU).
	Workers int
	// Padding adds a border around the scanned image, as a fraction of its
	// shorter side, that repeats its edge pixels: tight face crops, where
	// the face touches the edges, are found only with such a border.
	Padding float64
	// NoCropRetry turns off the crop retry: by default, when nothing is
	// found in an image of at most 512 px a side, it is scanned again with
	// a wide border, then upsampled: face crops, where the face touches the
	// edges, are often found only so.
	NoCropRetry bool
	// ChipPadding is the margin around the aligned 150x150 face chip the
	// descriptor is computed on; 0 means dlib's 0.25. It is part of the
	// Model's identity.
	ChipPadding float64
	// Jitter, when above 0, averages the descriptor over that many randomly
	// jittered copies of the chip (dlib's num_jitters): slower, slightly
	// more stable.
	Jitter int
	// AdjustThreshold is added to the detector's threshold: negative values
	// find more faces, and more false ones.
	AdjustThreshold float64
	// MaxFaces bounds the faces described per image; an image with more
	// fails with ErrTooManyFaces (a filter must not skip faces silently).
	// 0 means 256.
	MaxFaces int
	// MaxPixels rejects larger images with ErrImage before any work. 0
	// means 40,000,000.
	MaxPixels int
	// DecodeLimits bound the decoding of FacesBytes (see
	// imageutil.Limits); zero fields take imageutil.DefaultLimits().
	DecodeLimits imageutil.Limits
}

// decodeLimits returns DecodeLimits with imageutil's defaults filled in.
func (c *DlibConfig) decodeLimits() imageutil.Limits { return c.DecodeLimits.WithDefaults() }

// DefaultDlibConfig returns the defaults: models in "models" (relative to
// the working directory, where scripts/fetch-models.sh puts them), the HOG
// detector, MinFaceSize 80, one worker per CPU, the crop retry on, dlib's chip
// padding. It reads no environment variable.
func DefaultDlibConfig() DlibConfig {
	return DlibConfig{
		ModelsDir:         "models",
		Detector:          HOG,
		MinFaceSize:       80,
		MaxUpsamplePixels: 4_000_000,
		Workers:           runtime.NumCPU(),
		Padding:           0,
		ChipPadding:       0.25,
		MaxFaces:          256,
		MaxPixels:         40_000_000,
		DecodeLimits:      imageutil.DefaultLimits(),
	}
}

// WithDefaults returns c with every zero field set to DefaultDlibConfig's
// value, as NewDlib and NewLocator use it (ModelsDir, required, stays as
// it is). Packages that keep a DlibConfig in their own Config (embed/onnx)
// resolve it with WithDefaults before reading its fields.
func (c DlibConfig) WithDefaults() DlibConfig {
	c.withDefaults()
	return c
}

// withDefaults fills the zero fields with DefaultDlibConfig's values
// (those whose default is zero stay zero).
func (c *DlibConfig) withDefaults() {
	d := DefaultDlibConfig()
	if c.Detector == "" {
		c.Detector = d.Detector
	}
	if c.ChipPadding == 0 {
		c.ChipPadding = d.ChipPadding
	}
	for _, f := range []struct{ v, d *int }{
		{&c.MinFaceSize, &d.MinFaceSize},
		{&c.MaxUpsamplePixels, &d.MaxUpsamplePixels},
		{&c.Workers, &d.Workers},
		{&c.MaxFaces, &d.MaxFaces},
		{&c.MaxPixels, &d.MaxPixels},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	c.DecodeLimits = c.decodeLimits()
}

// validate fills in the defaults (withDefaults), then checks every field.
func (c *DlibConfig) validate() error {
	c.withDefaults()
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
	}
	switch {
	case c.ModelsDir == "":
		return bad("ModelsDir", "empty")
	case c.Detector != HOG && c.Detector != CNN:
		return bad("Detector", "%q is neither %q nor %q", c.Detector, HOG, CNN)
	case c.MinFaceSize < 10 || c.MinFaceSize > 10000:
		return bad("MinFaceSize", "%d is outside [10, 10000]", c.MinFaceSize)
	case c.MaxUpsamplePixels < 0:
		return bad("MaxUpsamplePixels", "%d is negative", c.MaxUpsamplePixels)
	case c.Workers < 1 || c.Workers > 256:
		return bad("Workers", "%d is outside [1, 256]", c.Workers)
	case c.Padding < 0 || c.Padding > 1:
		return bad("Padding", "%v is outside [0, 1]", c.Padding)
	case c.ChipPadding < 0 || c.ChipPadding > 1:
		return bad("ChipPadding", "%v is outside (0, 1]", c.ChipPadding)
	case c.Jitter < 0 || c.Jitter > 100:
		return bad("Jitter", "%d is outside [0, 100]", c.Jitter)
	case c.AdjustThreshold < -5 || c.AdjustThreshold > 5:
		return bad("AdjustThreshold", "%v is outside [-5, 5]", c.AdjustThreshold)
	case c.MaxFaces < 1 || c.MaxFaces > 100_000:
		return bad("MaxFaces", "%d is outside [1, 100000]", c.MaxFaces)
	case c.MaxPixels < 1 || c.MaxPixels > 1<<30:
		return bad("MaxPixels", "%d is outside [1, 2^30]", c.MaxPixels)
	}
	return nil
}
