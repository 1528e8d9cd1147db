package onnx

import (
	"fmt"
	"math"
	"regexp"
	"runtime"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/faceoptout/faceoptout/embed"
)

// Landmarker selects where the five alignment points come from.
type Landmarker string

const (
	// Dlib68 places dlib's 68-point shape predictor
	// (shape_predictor_68_face_landmarks.dat, Debian's libdlib-data) in
	// the detector's box.
	Dlib68 Landmarker = "dlib68"
	// ONNX68 runs a 68-point landmark model (LandmarkModelConfig, by
	// default fr_landmark.onnx) on the box resized to its input.
	ONNX68 Landmarker = "onnx68"
	// Mean68 runs both and takes the mean of their five points: it needs
	// Shape68File and LandmarkModel.
	Mean68 Landmarker = "mean68"
)

// dlib68 and onnx68 report whether l uses each landmark source.
func (l Landmarker) dlib68() bool { return l == Dlib68 || l == Mean68 }
func (l Landmarker) onnx68() bool { return l == ONNX68 || l == Mean68 }

// FivePointRule says how the five alignment points are taken from 68
// iBUG 300-W points.
type FivePointRule string

const (
	// FiveCentres (the zero value) takes the eyes' centres (means of
	// their six points), the nose tip (30) and the outer mouth corners
	// (48, 54).
	FiveCentres FivePointRule = ""
	// FiveLids takes each eye as the mean of its four lid points (37, 38,
	// 40, 41 and 43, 44, 46, 47), the nose tip, and each mouth corner
	// midway between the outer and inner corners (48 and 60, 54 and 64),
	// as faceplugin-face-recognition-js converts fr_landmark.onnx's points.
	FiveLids FivePointRule = "lids"
)

// Optimization is the graph optimisation level ONNX Runtime applies to a
// model when it loads it. It changes how fast the model runs, not what it
// computes (outputs differ by float rounding only), so it is not part of
// the Model's ID. Which level is fastest depends on the model: measure it
// (BenchmarkSession).
type Optimization string

const (
	// OptimizeAll is ONNX Runtime's default (ORT_ENABLE_ALL): every graph
	// rewrite, including the CPU's blocked memory layouts. The zero value
	// means OptimizeAll.
	OptimizeAll Optimization = "all"
	// OptimizeExtended (ORT_ENABLE_EXTENDED) fuses operators but keeps
	// the graph's memory layout.
	OptimizeExtended Optimization = "extended"
	// OptimizeBasic (ORT_ENABLE_BASIC) folds constants and removes
	// redundant nodes only.
	OptimizeBasic Optimization = "basic"
	// OptimizeNone (ORT_DISABLE_ALL) runs the graph as it is stored.
	OptimizeNone Optimization = "none"
)

// level maps o to ONNX Runtime's level; ok is false for an unknown value.
func (o Optimization) level() (lvl ort.GraphOptimizationLevel, ok bool) {
	switch o {
	case "", OptimizeAll:
		return ort.GraphOptimizationLevelEnableAll, true
	case OptimizeExtended:
		return ort.GraphOptimizationLevelEnableExtended, true
	case OptimizeBasic:
		return ort.GraphOptimizationLevelEnableBasic, true
	case OptimizeNone:
		return ort.GraphOptimizationLevelDisableAll, true
	}
	return 0, false
}

// ArcFaceTemplate is the standard ArcFace 112x112 template of the five
// alignment points: left eye centre, right eye centre, nose tip, left and
// right mouth corners (left and right as seen in the image).
var ArcFaceTemplate = [5][2]float64{
	{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041},
}

// ModelConfig describes an ArcFace-style descriptor model: what it takes,
// what it gives. It is part of the model's identity (Embedder.Model).
type ModelConfig struct {
	// Name is the Model's short name.
	Name string
	// File is the model's path; a relative path is looked up in
	// Config.ModelsDir.
	File string
	// SHA256 pins the file's hex SHA-256; empty accepts any file (its hash
	// is still part of the Model's ID).
	SHA256 string
	// Input and Output are the names of the graph's input (1 x 3 x Size x
	// Size float32, NCHW) and output (1 x Dim float32).
	Input, Output string
	// Size is the side of the aligned chip.
	Size int
	// Template holds the five alignment points in chip pixels (see
	// ArcFaceTemplate, for a Size of 112).
	Template [5][2]float64
	// BGR feeds the channels in blue, green, red order instead of red,
	// green, blue.
	BGR bool
	// Mean and Scale normalise each channel, in the order fed:
	// (pixel - Mean[c]) * Scale[c], pixels in [0, 255].
	Mean, Scale [3]float32
	// Dim is the length of the output.
	Dim int
	// Optimization is the graph optimisation ONNX Runtime applies to the
	// model ("" means OptimizeAll). Not part of the Model's ID.
	Optimization Optimization
	// Flip describes each face twice, as is and mirrored left to right,
	// and adds the two outputs before normalising (twice the model's work).
	Flip bool
	// Threshold is the model's calibrated operating point, reported as
	// embed.Model.Threshold: the Euclidean distance between L2-normalised
	// descriptors (sqrt(2 - 2 cos)) at or below which two faces are taken
	// for one person. 0 means not calibrated: a Filter then needs an
	// explicit Policy. It is not part of the Model's ID.
	Threshold float64
	// WeakReview is reported as embed.Model.WeakReview: the distance within
	// which exclusion's weak-face rule sends a face the detector barely
	// found to review. 0 means not calibrated (the rule is off for the
	// model). It is not part of the Model's ID.
	WeakReview float64
}

// LandmarkModelConfig describes a 68-point landmark model for ONNX68: a
// grey Size x Size crop of the box in, values in [0, 1] * 256 (pixel/256),
// 136 numbers out, (x, y) pairs relative to the crop (0 to 1).
type LandmarkModelConfig struct {
	// File and SHA256 as in ModelConfig.
	File, SHA256 string
	// Input and Output are the graph's input and output names.
	Input, Output string
	// Size is the side of the grey input.
	Size int
	// Optimization as in ModelConfig.
	Optimization Optimization
	// Crop places the square the model sees relative to the detector's
	// box. The zero value feeds the box itself.
	Crop LandmarkCrop
	// Refine is the number of extra passes: each crops again around the
	// previous pass's 68 points (RefineLayout) and runs the model again,
	// one more Size x Size run per face and pass. 0 means none; at most 3.
	Refine int
	// RefineLayout is where the model's 68 points sit in the crop it
	// expects, for Refine. The zero value means fr_landmark.onnx's
	// (FRLandmarkLayout).
	RefineLayout PointLayout
}

// LandmarkCrop places the landmark model's crop relative to the
// detector's box of width w (HOG boxes are square): a square of side
// Scale * w, its centre moved by (OffsetX * w, OffsetY * w) from the box's
// centre (negative: left, up), then moved inside the image as far as it
// fits (and shrunk to the image's shorter side when larger).
type LandmarkCrop struct {
	// Scale is the crop's side in box widths. 0 means the box itself (its
	// width and height, without the offsets).
	Scale float64
	// OffsetX and OffsetY move the crop's centre, in box widths.
	OffsetX, OffsetY float64
}

// DetectCrop is the crop fr_landmark.onnx's own pipeline feeds it,
// expressed relative to dlib's HOG box: that pipeline crops the square of
// side the fr_detect.onnx box's height around that box's centre, which
// is about 1.2 HOG box widths wide and 0.075 widths above the HOG box's
// centre on the shared photos (faces/idols and faces/eastasian;
// faces/bbt's crops cut it at their edges). TestCropConvention measures
// it.
func DetectCrop() LandmarkCrop { return LandmarkCrop{Scale: 1.2, OffsetY: -0.075} }

// PointLayout describes where a landmark model's 68 points sit in the
// crop it expects, as fractions of the crop's side: their mean at
// (CentreX, CentreY), their root-mean-square distance from it Spread.
type PointLayout struct {
	CentreX, CentreY, Spread float64
}

// FRLandmarkLayout is fr_landmark.onnx's layout, measured on crops made
// as its own pipeline makes them (TestCropConvention).
func FRLandmarkLayout() PointLayout { return PointLayout{CentreX: 0.5, CentreY: 0.59, Spread: 0.30} }

// Config configures New. Start from DefaultConfig.
type Config struct {
	// Detection configures the face detection, which is embed.Dlib's HOG
	// scan (see embed.DlibConfig): MinFaceSize, MaxUpsamplePixels,
	// Workers (also the number of model sessions), Padding, NoCropRetry,
	// AdjustThreshold, MaxFaces, MaxPixels and DecodeLimits are used;
	// Detector must be embed.HOG; the other fields are ignored.
	Detection embed.DlibConfig
	// ModelsDir is where relative model and library paths are looked up.
	ModelsDir string
	// Library is the ONNX Runtime shared library (libonnxruntime.so.1 of
	// onnxruntime-node 1.30.0, the C API version onnxruntime_go v1.27.0
	// speaks); a relative path is looked up in ModelsDir.
	Library string
	// LibrarySHA256 pins the library's hex SHA-256; empty accepts any.
	LibrarySHA256 string
	// Model describes the descriptor model.
	Model ModelConfig
	// Landmarks selects the alignment points' source: Dlib68, ONNX68 or
	// Mean68.
	Landmarks Landmarker
	// Shape68File is dlib's 68-point predictor, for Dlib68 and Mean68.
	Shape68File string
	// LandmarkModel describes the landmark model, for ONNX68 and Mean68.
	LandmarkModel LandmarkModelConfig
	// Threads is the number of threads each model session runs on.
	Threads int
	// EyesNose fits the similarity to the eyes and the nose tip only (the
	// three points faceplugin-face-recognition-js aligns by, without its
	// affine's shear). Otherwise all five points count. It changes the
	// descriptors, so it is part of the Model.
	EyesNose bool
	// MouthWeight weighs the mouth corners' squared distances in the
	// similarity fit against the eyes' and the nose's (1); 0 means 1.
	// EyesNose leaves them out. It changes the descriptors, so it is part
	// of the Model.
	MouthWeight float64
	// RobustScale makes the similarity fit robust to a misplaced point:
	// after a first fit, each point's squared distance is weighted by
	// 1/(1+(r/RobustScale)^2), r its distance from its template point in
	// chip pixels, and the fit repeated (Cauchy weights, iteratively
	// reweighted least squares). 0 means a plain least-squares fit. It
	// changes the descriptors, so it is part of the Model.
	RobustScale float64
	// EdgeFill gives the chip's pixels outside the image the value of the
	// image's nearest edge pixel. Otherwise they are black. It changes the
	// descriptors of faces near the image's edges, so it is part of the
	// Model.
	EdgeFill bool
	// FivePoints says which of the 68 points make the five alignment
	// points; the zero value is FiveCentres. It changes the descriptors,
	// so it is part of the Model.
	FivePoints FivePointRule
	// NoAntialias samples each chip pixel once (Warp). Otherwise, when a
	// face is larger than the chip, each chip pixel averages k x k
	// bilinear samples (k: source pixels per chip pixel, rounded up, at
	// most 4; WarpArea). It changes the descriptors, so it is part of the
	// Model.
	NoAntialias bool
}

// DefaultThreshold is the pinned model's (FeatureSHA256, aligned as
// DefaultConfig aligns it: ONNX68 landmarks, antialiased, no flip)
// calibrated operating point, ModelConfig.Threshold in DefaultConfig;
// exclusion/EVALUATION.md ("Decision defaults per model") holds the
// measurements behind it and embed/onnx/EVALUATION.md the embedder-level
// ones. The pinned model has no calibrated WeakReview (see
// exclusion/EVALUATION.md).
const DefaultThreshold = 1.08

// Pinned SHA-256s of the default files (scripts/fetch-onnx.sh installs them).
const (
	FeatureSHA256  = "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581"
	LandmarkSHA256 = "f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258"
	LibrarySHA256  = "ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"
)

// DefaultConfig returns the defaults: the files scripts/fetch-onnx.sh
// installs, looked up in "models"; fr_feature.onnx (MobileFaceNet-class,
// 512-D, RGB, (x-127)/128) aligned to ArcFaceTemplate by the five points
// of fr_landmark.onnx (ONNX68), antialiased; detection as
// embed.DefaultDlibConfig (MinFaceSize 80, one worker per CPU); one
// thread per session. Shape68File names Debian libdlib-data's 68-point
// predictor, read only when Landmarks is Dlib68 or Mean68.
func DefaultConfig() Config {
	det := embed.DefaultDlibConfig()
	det.ModelsDir = "models"
	return Config{
		Detection:     det,
		ModelsDir:     "models",
		Library:       "libonnxruntime.so.1",
		LibrarySHA256: LibrarySHA256,
		Model: ModelConfig{
			Name:     "faceplugin-fr-feature-512",
			File:     "fr_feature.onnx",
			SHA256:   FeatureSHA256,
			Input:    "input",
			Output:   "output",
			Size:     112,
			Template: ArcFaceTemplate,
			Mean:     [3]float32{127, 127, 127},
			Scale:    [3]float32{1.0 / 128, 1.0 / 128, 1.0 / 128},
			Dim:      512,
			// With denormals flushed (session.run), ORT_ENABLE_ALL's
			// rewrites run this graph fastest (BenchmarkSession).
			Optimization: OptimizeAll,
			// The calibration of the pinned model and its evidence:
			// embed/onnx/EVALUATION.md and exclusion/EVALUATION.md.
			Threshold: DefaultThreshold,
		},
		Landmarks:   ONNX68,
		Shape68File: "/usr/share/dlib/shape_predictor_68_face_landmarks.dat",
		LandmarkModel: LandmarkModelConfig{
			File:         "fr_landmark.onnx",
			SHA256:       LandmarkSHA256,
			Input:        "input",
			Output:       "output",
			Size:         64,
			Optimization: OptimizeAll,
		},
		Threads: 1,
	}
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// mouthWeighted reports whether the similarity fit weighs the mouth
// corners otherwise than the other points (MouthWeight set, not 1).
func (c *Config) mouthWeighted() bool { return c.MouthWeight > 0 && c.MouthWeight != 1 }

func (c *Config) validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
	}
	m := &c.Model
	switch {
	case c.Detection.Detector != embed.HOG:
		return bad("Detection.Detector", "%q: only %q is supported", c.Detection.Detector, embed.HOG)
	case c.Detection.Workers < 1 || c.Detection.Workers > 256:
		return bad("Detection.Workers", "%d is outside [1, 256]", c.Detection.Workers)
	case c.ModelsDir == "":
		return bad("ModelsDir", "empty")
	case c.Library == "":
		return bad("Library", "empty")
	case c.LibrarySHA256 != "" && !hexSHA256.MatchString(c.LibrarySHA256):
		return bad("LibrarySHA256", "%q is not a lower-case hex SHA-256", c.LibrarySHA256)
	case m.Name == "":
		return bad("Model.Name", "empty")
	case m.File == "":
		return bad("Model.File", "empty")
	case m.SHA256 != "" && !hexSHA256.MatchString(m.SHA256):
		return bad("Model.SHA256", "%q is not a lower-case hex SHA-256", m.SHA256)
	case m.Input == "" || m.Output == "":
		return bad("Model.Input/Output", "empty name")
	case m.Size < 16 || m.Size > 1024:
		return bad("Model.Size", "%d is outside [16, 1024]", m.Size)
	case m.Dim < 2 || m.Dim > 8192:
		return bad("Model.Dim", "%d is outside [2, 8192]", m.Dim)
	case !finite(m.Threshold, m.WeakReview) || m.Threshold < 0 || m.Threshold > 2:
		return bad("Model.Threshold", "%v is outside [0, 2]", m.Threshold)
	case m.WeakReview < 0 || m.WeakReview > 2:
		return bad("Model.WeakReview", "%v is outside [0, 2]", m.WeakReview)
	case !validOptimization(m.Optimization):
		return bad("Model.Optimization", "%q is none of all, extended, basic, none", m.Optimization)
	case !validOptimization(c.LandmarkModel.Optimization):
		return bad("LandmarkModel.Optimization", "%q is none of all, extended, basic, none", c.LandmarkModel.Optimization)
	case c.Threads < 1 || c.Threads > runtime.NumCPU()*4:
		return bad("Threads", "%d is outside [1, 4 x CPUs]", c.Threads)
	}
	for i := range 3 {
		if !finite(float64(m.Mean[i]), float64(m.Scale[i])) || m.Scale[i] == 0 {
			return bad("Model.Mean/Scale", "channel %d: mean %v, scale %v", i, m.Mean[i], m.Scale[i])
		}
	}
	for i, p := range m.Template {
		if !finite(p[0], p[1]) || p[0] < 0 || p[1] < 0 || p[0] > float64(m.Size) || p[1] > float64(m.Size) {
			return bad("Model.Template", "point %d %v is outside the %dx%d chip", i, p, m.Size, m.Size)
		}
	}
	if math.Abs(m.Template[0][0]-m.Template[1][0]) < 1 {
		return bad("Model.Template", "the eyes coincide")
	}
	if c.Landmarks != Dlib68 && c.Landmarks != ONNX68 && c.Landmarks != Mean68 {
		return bad("Landmarks", "%q is none of %q, %q, %q", c.Landmarks, Dlib68, ONNX68, Mean68)
	}
	if !finite(c.MouthWeight) || c.MouthWeight < 0 || c.MouthWeight > 100 {
		return bad("MouthWeight", "%v is outside [0, 100]", c.MouthWeight)
	}
	if !finite(c.RobustScale) || c.RobustScale < 0 || c.RobustScale > 1000 {
		return bad("RobustScale", "%v is outside [0, 1000]", c.RobustScale)
	}
	if c.FivePoints != FiveCentres && c.FivePoints != FiveLids {
		return bad("FivePoints", "%q is none of %q, %q", c.FivePoints, FiveCentres, FiveLids)
	}
	if c.Landmarks.dlib68() && c.Shape68File == "" {
		return bad("Shape68File", "empty")
	}
	if c.Landmarks.onnx68() {
		l := &c.LandmarkModel
		switch {
		case l.File == "":
			return bad("LandmarkModel.File", "empty")
		case l.SHA256 != "" && !hexSHA256.MatchString(l.SHA256):
			return bad("LandmarkModel.SHA256", "%q is not a lower-case hex SHA-256", l.SHA256)
		case l.Input == "" || l.Output == "":
			return bad("LandmarkModel.Input/Output", "empty name")
		case l.Size < 8 || l.Size > 512:
			return bad("LandmarkModel.Size", "%d is outside [8, 512]", l.Size)
		case !finite(l.Crop.Scale, l.Crop.OffsetX, l.Crop.OffsetY) || l.Crop.Scale < 0 || l.Crop.Scale > 4 ||
			math.Abs(l.Crop.OffsetX) > 1 || math.Abs(l.Crop.OffsetY) > 1:
			return bad("LandmarkModel.Crop", "%+v: Scale must be in [0, 4], the offsets in [-1, 1]", l.Crop)
		case l.Refine < 0 || l.Refine > 3:
			return bad("LandmarkModel.Refine", "%d is outside [0, 3]", l.Refine)
		}
		if r := l.RefineLayout; r != (PointLayout{}) {
			if !finite(r.CentreX, r.CentreY, r.Spread) || r.CentreX < 0 || r.CentreX > 1 || r.CentreY < 0 || r.CentreY > 1 ||
				r.Spread < 0.01 || r.Spread > 1 {
				return bad("LandmarkModel.RefineLayout", "%+v: the centre must be in [0, 1], Spread in [0.01, 1]", r)
			}
		}
	}
	return nil
}

func validOptimization(o Optimization) bool {
	_, ok := o.level()
	return ok
}
