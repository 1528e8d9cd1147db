package embed

import (
	"context"
	"image"
	"math"
)

// Dim is the length of a face descriptor: dlib's ResNet produces 128 numbers.
const Dim = 128

// Descriptor is a 128-D dlib face descriptor. Two descriptors of one person
// usually lie within a Euclidean distance of about 0.6 of each other.
type Descriptor [Dim]float32

// Distance returns the Euclidean distance between d and o (not its square:
// go-face's ClassifyThreshold compares squared distances, faceoptout never does).
func (d *Descriptor) Distance(o *Descriptor) float64 {
	var s float64
	for i := range d {
		x := float64(d[i] - o[i])
		s += x * x
	}
	return math.Sqrt(s)
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
	// Descriptor is the face's 128-D descriptor.
	Descriptor Descriptor `json:"descriptor"`
	// Quality holds the measures a quality gate needs.
	Quality Quality `json:"quality"`
}

// Embedder finds the faces in an image and describes each one.
//
// Implementations must be safe for concurrent use, must return promptly once
// ctx is done (with an error wrapping ctx.Err()), and return an empty slice
// with a nil error for an image that holds no face.
type Embedder interface {
	Faces(ctx context.Context, img image.Image) ([]Face, error)
}
