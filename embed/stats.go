package embed

import (
	"image"
	"time"
)

// Stats tells where the time of one Faces call went and how the image was
// scanned.
type Stats struct {
	// Decode is the time FacesBytes spent decoding (0 for Faces).
	Decode time.Duration `json:"decode,omitempty"`
	// DecodeScale is the size FacesBytes decoded the image at, relative to
	// full resolution: below 1 when a JPEG was decoded scaled in the DCT
	// domain (0 for Faces).
	DecodeScale float64 `json:"decode_scale,omitempty"`
	// Convert is the time spent copying the image into dlib's layout.
	Convert time.Duration `json:"convert"`
	// Wait is the time spent waiting for a free worker.
	Wait time.Duration `json:"wait"`
	// Detect is the time spent resizing and scanning.
	Detect time.Duration `json:"detect"`
	// Describe is the time spent on landmarks, chips and descriptors.
	Describe time.Duration `json:"describe"`
	// Scale is the factor the full-resolution image was resized by before
	// scanning.
	Scale float64 `json:"scale"`
	// Scanned is the size of the image scanned, padding included.
	Scanned image.Point `json:"scanned"`
	// MinFace is the smallest face side, at full resolution, the scan could
	// find: MinFaceSize, or more when MaxUpsamplePixels capped upsampling.
	MinFace int `json:"min_face"`
	// Detections counts the faces the detector found.
	Detections int `json:"detections"`
	// Retries counts the extra scans of a small image (see DlibConfig.NoCropRetry).
	Retries int `json:"retries,omitempty"`
}

// addStats sums the timings of two scans; the rest is b's.
func addStats(a, b Stats) Stats {
	b.Decode += a.Decode
	b.Convert += a.Convert
	b.Wait += a.Wait
	b.Detect += a.Detect
	b.Describe += a.Describe
	b.Retries += a.Retries
	return b
}
