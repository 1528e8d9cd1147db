package imageutil

import (
	"image"
	"math"

	"github.com/disintegration/imaging"
)

// resampleFilter is the filter of Fit, Scale and Resize: Catmull-Rom, a
// cubic that keeps edges sharper than Linear (face detectors, HOG above all,
// live on edges) and, like every filter of imaging, widens its support when
// downscaling so that it averages instead of aliasing. It costs about twice
// Linear; Lanczos is sharper still but rings around high-contrast edges.
var resampleFilter = imaging.CatmullRom

// Fit returns img scaled down, keeping its aspect ratio, so that neither side
// exceeds maxSide pixels. It never enlarges. When img already fits and is an
// *image.NRGBA whose bounds start at (0, 0) (as [Image.RGB] is) Fit returns
// img itself, not a copy; otherwise the result is new. maxSide < 1 counts as
// 1. Fit is safe for concurrent use.
func Fit(img image.Image, maxSide int) *image.NRGBA {
	maxSide = max(maxSide, 1)
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= maxSide && h <= maxSide {
		return same(img)
	}
	if w >= h {
		return imaging.Resize(img, maxSide, max(1, int(math.Round(float64(h)*float64(maxSide)/float64(w)))), resampleFilter)
	}
	return imaging.Resize(img, max(1, int(math.Round(float64(w)*float64(maxSide)/float64(h)))), maxSide, resampleFilter)
}

// Scale returns img resized by factor (0.5 halves each side; 2 doubles it),
// each side rounded and at least 1 pixel. Factor 1 behaves as [Fit] on an
// image that fits (no copy for an *image.NRGBA at the origin). Scale panics
// if factor is not a positive finite number; the caller bounds the size of
// an enlargement.
func Scale(img image.Image, factor float64) *image.NRGBA {
	if !(factor > 0) || math.IsInf(factor, 0) {
		panic("imageutil: Scale factor must be positive and finite")
	}
	if factor == 1 {
		return same(img)
	}
	b := img.Bounds()
	w := max(1, int(math.Round(float64(b.Dx())*factor)))
	h := max(1, int(math.Round(float64(b.Dy())*factor)))
	return imaging.Resize(img, w, h, resampleFilter)
}

// Resize returns img resized to width x height. If one of them is 0 it is
// computed from the other, keeping the aspect ratio; if both are 0 or either
// is negative the result is empty (as imaging.Resize does).
func Resize(img image.Image, width, height int) *image.NRGBA {
	return imaging.Resize(img, width, height, resampleFilter)
}

// Shrink returns img shrunk by the integer factor k: each pixel is the
// rounded mean of a k x k block of img (blocks at the right and bottom
// edges average the pixels they have), as the pixel budget of Decode
// reduces, so the result is ceil(w/k) x ceil(h/k) and opaque. It suits
// copies searched for faces: a box mean, like the DCT scaling of a JPEG
// decode, and much cheaper than Resize. k <= 1 returns img as an NRGBA at
// the origin (img itself when it is one).
func Shrink(img image.Image, k int) *image.NRGBA {
	if k <= 1 {
		return same(img)
	}
	return reduce(img, img.Bounds(), k)
}

// same returns img when it is already an *image.NRGBA at the origin, else an
// NRGBA copy of it.
func same(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok && n.Rect.Min == (image.Point{}) {
		return n
	}
	return imaging.Clone(img)
}
