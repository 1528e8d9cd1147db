package embed

import (
	"context"
	"image"
	"math"
)

// DlibDim is the length of a dlib descriptor: dlib's ResNet produces 128
// numbers.
const DlibDim = 128

// Descriptor is a face descriptor: Model().Dim numbers from the embedder
// that made it. Descriptors are compared with Euclidean distances, and only
// descriptors of the same model are comparable.
type Descriptor []float32

// Distance returns the Euclidean distance between d and o (not its square:
// go-face's ClassifyThreshold compares squared distances, faceoptout never
// does). Descriptors of different lengths are +Inf apart.
func (d Descriptor) Distance(o Descriptor) float64 {
	if len(d) != len(o) {
		return math.Inf(1)
	}
	var s float64
	for i := range d {
		x := float64(d[i] - o[i])
		s += x * x
	}
	return math.Sqrt(s)
}

// Finite reports whether every number of d is finite (no NaN, no ±Inf).
func (d Descriptor) Finite() bool {
	for _, v := range d {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// Model identifies the face model behind an Embedder: descriptors of two
// embedders are comparable only when their Model IDs are equal.
type Model struct {
	// Name is a short human-readable name, such as "dlib-resnet-v1".
	Name string `json:"name"`
	// Dim is the length of the model's descriptors.
	Dim int `json:"dim"`
	// ID is the hex SHA-256 of the model's weights and of everything that
	// changes its descriptors (pre-processing, alignment, normalisation).
	ID string `json:"id"`
	// Threshold is the model's calibrated operating point: the Euclidean
	// distance at or below which two of its descriptors are taken for one
	// person. 0 means not calibrated. It is not part of the ID, so a better
	// calibration needs no re-enrolment.
	Threshold float64 `json:"threshold,omitempty"`
	// WeakReview is the distance within which a face the detector barely
	// found is sent to review rather than allowed (exclusion's weak-face
	// rule), calibrated for the model; 0 means not calibrated.
	WeakReview float64 `json:"weak_review,omitempty"`
}

// String returns the model's name and the start of its ID.
func (m Model) String() string {
	id := m.ID
	if len(id) > 12 {
		id = id[:12]
	}
	return m.Name + "@" + id
}

// Quality describes how usable a detected face is for enrolment.
type Quality struct {
	// Size is the face's side in pixels at the image's full resolution
	// (the larger of the box's width and height).
	Size int `json:"size"`
	// Sharpness is the variance of the Laplacian of the aligned 150x150 face
	// chip's luma: low values mean blur.
	Sharpness float64 `json:"sharpness"`
	// Score is the detector's confidence: the HOG detector's SVM margin
	// (above 0 is a detection) or the CNN detector's MMOD score.
	Score float64 `json:"score"`
	// Pose is the HOG sub-detector that fired: "frontal", "left", "right",
	// "frontal-rotated-left" or "frontal-rotated-right"; empty for the CNN.
	Pose string `json:"pose,omitempty"`
}

// Face is one face found in an image.
type Face struct {
	// Box is the face's bounding box in the input image's coordinates.
	Box image.Rectangle `json:"box"`
	// Landmarks are the five points of dlib's 5-point shape predictor, in
	// the input image's coordinates: the corners of both eyes and the base
	// of the nose.
	Landmarks []image.Point `json:"landmarks,omitempty"`
	// Descriptor is the face's descriptor (Model().Dim numbers).
	Descriptor Descriptor `json:"descriptor"`
	// Quality holds the measures a quality gate needs.
	Quality Quality `json:"quality"`
}

// Embedder finds the faces in an image and describes each one.
//
// Implementations must be safe for concurrent use, must return promptly once
// ctx is done (with an error wrapping ctx.Err()), and return an empty slice
// with a nil error for an image that holds no face. Every descriptor Faces
// returns has Model().Dim numbers.
type Embedder interface {
	Faces(ctx context.Context, img image.Image) ([]Face, error)
	// Model identifies the model whose descriptors Faces returns.
	Model() Model
}
