package exclusion

// This file is the only place that decodes, hashes and turns images; it
// does so with imageutil.

import (
	"fmt"
	"image"

	"github.com/faceoptout/faceoptout/imageutil"
)

const (
	// maxImageBytes is imageutil's default input limit: the largest image
	// CheckImage reads.
	maxImageBytes = 20 << 20
	// phashMatchDistance is the largest Hamming distance between perceptual
	// hashes that counts as the same image.
	phashMatchDistance = imageutil.DefaultMatchDistance
)

type decoded struct {
	img    *image.NRGBA
	format string
}

// decodeImage decodes within imageutil's default limits, applying EXIF
// orientation. Errors wrap imageutil.ErrTooLarge, ErrFormat or ErrCorrupt.
func decodeImage(data []byte) (decoded, error) {
	m, err := imageutil.DecodeBytes(data, imageutil.WithLimits(imageutil.DefaultLimits()))
	if err != nil {
		return decoded{}, fmt.Errorf("exclusion: decoding image: %w", err)
	}
	return decoded{img: m.RGB, format: m.Format}, nil
}

func phash(img image.Image) uint64 { return uint64(imageutil.PHash(img)) }

func hashDistance(a, b uint64) int { return imageutil.Hash(a).Distance(imageutil.Hash(b)) }

// rotations are the turns (degrees clockwise) under which CheckImage looks
// for faces, upright first.
var rotations = [...]int{0, 90, 270, 180}

// rotate returns img turned clockwise by deg (0, 90, 180 or 270).
func rotate(img image.Image, deg int) image.Image {
	switch deg {
	case 90:
		return imageutil.Orient(img, 6) // EXIF 6: turn 90° clockwise
	case 180:
		return imageutil.Orient(img, 3)
	case 270:
		return imageutil.Orient(img, 8)
	}
	return img
}

// unrotate maps a box found in img turned clockwise by deg back to img,
// whose bounds are b.
func unrotate(r image.Rectangle, b image.Rectangle, deg int) image.Rectangle {
	w, h := b.Dx(), b.Dy()
	var out image.Rectangle
	switch deg {
	case 90: // (x, y) -> (h-1-y, x)
		out = image.Rect(r.Min.Y, h-r.Max.X, r.Max.Y, h-r.Min.X)
	case 270: // (x, y) -> (y, w-1-x)
		out = image.Rect(w-r.Max.Y, r.Min.X, w-r.Min.Y, r.Max.X)
	case 180:
		out = image.Rect(w-r.Max.X, h-r.Max.Y, w-r.Min.X, h-r.Min.Y)
	default:
		return r
	}
	return out.Add(b.Min)
}
