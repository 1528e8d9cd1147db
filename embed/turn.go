package embed

import (
	"context"
	"image"
	"math"

	"github.com/faceoptout/faceoptout/imageutil"
)

// LookMinSide is the shorter side, in pixels, below which the image
// FacesBytesWith passes to BytesOptions.Look is never reduced: a JPEG's
// look is the decoded image shrunk by LookShrink (with LookOnly, a decode
// DCT-scaled to the smallest of 1/8, 1/4, 1/2 that keeps at least this
// many pixels on its shorter side). It is large enough that the look's
// perceptual hash stays close to the full image's, the hash stored for a
// removed image (TestLookFromWorker, TestLookPHashAcrossDecoders).
const LookMinSide = 256

// LookShrink is the integer factor a look's copy of an image of size is
// shrunk by (a box mean, imageutil.Shrink): the largest that keeps its
// shorter side at least LookMinSide, 1 for smaller images.
func LookShrink(size image.Point) int {
	return max(1, min(size.X, size.Y)/LookMinSide)
}

// Turn is one extra scan of FacesBytesWith: the image turned clockwise by
// Degrees (90, 180 or 270) after its EXIF orientation, scanned Reduce
// times smaller than an upright scan (1, 2, 4 or 8; 0 means 1), so that
// only faces of at least Reduce*MinFaceSize are sure to be found, for
// about 1/Reduce² of an upright scan's detection cost. An image is never
// reduced below a longer side of TurnMinSide: small images are scanned
// whole. Every turn of one call scans the same reduced copy, made with the
// first turn's Reduce. A reduced copy is scanned without the crop retry
// (DlibConfig.NoCropRetry), which would scan it again padded and then
// upsampled: it is no face crop; an image scanned whole keeps it.
type Turn struct {
	Degrees int
	Reduce  int
}

// BytesOptions shape one FacesBytesWith call. The zero value makes it
// FacesBytes.
type BytesOptions struct {
	// Look, when not nil, is called once the image is decoded and oriented
	// and before any face is searched, with the image or, for a JPEG, a
	// reduced copy of it (no less than LookMinSide on its shorter side: a
	// box mean of the image the worker decoded, or with LookOnly a
	// DCT-scaled decode of its own): enough for a perceptual hash, which
	// averages the image over a 32x32 grid. An error from Look ends the
	// call with that error before any face is searched. Look must not keep
	// the image.
	Look func(img image.Image) error
	// LookOnly, with Look, decodes only what Look needs (for a JPEG a
	// DCT-scaled copy, outside the workers), calls Look and returns its
	// error, searching no face: a nil error then comes with no faces and
	// Scans 0, which says nothing about the image's faces.
	LookOnly bool
	// Turns are tried in order, each only while no face has been found.
	Turns []Turn
	// MaxPixels, when above 0, bounds the pixels decoded and scanned: a
	// larger image is decoded reduced (a JPEG DCT-scaled by 1/2, 1/4 or
	// 1/8, other formats by imageutil's pixel budget, an integer box
	// reduction k) and scanned as if that were its full resolution, so
	// faces under k*MinFaceSize may be missed in it (BytesResult.Reduction
	// reports k). Memory then follows MaxPixels, not the image's size.
	MaxPixels int64
}

// BytesResult is what FacesBytesWith found.
type BytesResult struct {
	// Faces are the faces found, with boxes and landmarks in the
	// coordinates of the oriented full-resolution image (the bounding box
	// of a face found turned).
	Faces []Face
	// Turn is the rotation (degrees clockwise) the faces were found under:
	// 0 for upright.
	Turn int
	// Scans counts the scans made: 1 plus the turns tried.
	Scans int
	// Size is the oriented full-resolution image's size.
	Size image.Point
	// Reduction is the factor MaxPixels reduced the scanned image by (1:
	// full resolution).
	Reduction float64
	// Stats sums the timings of every scan; the other fields are the
	// last scan's.
	Stats Stats
}

// scaleFaces multiplies the boxes, landmarks and sizes of faces by fx, fy.
func scaleFaces(faces []Face, fx, fy float64) {
	if fx == 1 && fy == 1 {
		return
	}
	up := func(p image.Point) image.Point {
		return image.Pt(int(math.Round(float64(p.X)*fx)), int(math.Round(float64(p.Y)*fy)))
	}
	for i := range faces {
		f := &faces[i]
		f.Box = image.Rectangle{Min: up(f.Box.Min), Max: up(f.Box.Max)}
		for j := range f.Landmarks {
			f.Landmarks[j] = up(f.Landmarks[j])
		}
		f.Quality.Size = max(f.Box.Dx(), f.Box.Dy())
	}
}

// unturnFaces maps faces found in an image of size full (upright) turned
// clockwise by deg back to the upright image's coordinates.
func unturnFaces(faces []Face, full image.Point, deg int) {
	for i := range faces {
		f := &faces[i]
		f.Box = UnturnBox(f.Box, full, deg)
		for j, p := range f.Landmarks {
			f.Landmarks[j] = unturnPoint(p, full, deg)
		}
	}
}

// UnturnBox maps a box found in an image of size full turned clockwise by
// deg degrees (0, 90, 180, 270) back to the unturned image.
func UnturnBox(r image.Rectangle, full image.Point, deg int) image.Rectangle {
	w, h := full.X, full.Y
	switch deg {
	case 90: // (x, y) -> (h-1-y, x)
		return image.Rect(r.Min.Y, h-r.Max.X, r.Max.Y, h-r.Min.X)
	case 270: // (x, y) -> (y, w-1-x)
		return image.Rect(w-r.Max.Y, r.Min.X, w-r.Min.Y, r.Max.X)
	case 180:
		return image.Rect(w-r.Max.X, h-r.Max.Y, w-r.Min.X, h-r.Min.Y)
	}
	return r
}

// unturnPoint maps a pixel of an image of size full turned clockwise by
// deg back to the unturned image.
func unturnPoint(p image.Point, full image.Point, deg int) image.Point {
	w, h := full.X, full.Y
	switch deg {
	case 90:
		return image.Pt(p.Y, h-1-p.X)
	case 270:
		return image.Pt(w-1-p.Y, p.X)
	case 180:
		return image.Pt(w-1-p.X, h-1-p.Y)
	}
	return p
}

// TurnMinSide is the longer side, in pixels, below which a turned scan
// never reduces the image.
const TurnMinSide = 400

// TurnReduce is the factor the turned scans' copy of an image of size full
// is reduced by, given the first turn's Reduce r: the largest of 1, 2, 4, 8
// at most r (0 means 1) that keeps the copy's longer side at TurnMinSide
// or more.
func TurnReduce(full image.Point, r int) int {
	r = max(r, 1)
	for r > 1 && max(full.X, full.Y)/r < TurnMinSide {
		r /= 2
	}
	return r
}

// FacesTurned finds the faces of img with emb's Faces, upright and, when
// that finds none, on one copy of img reduced by TurnReduce (a box mean,
// imageutil.Shrink) and turned by each of turns in order, stopping at the
// first turn that shows a face: the turned scans of FacesBytesWith for an
// embedder that only has Faces. Boxes are in img's coordinates (scaled up
// from the copy as FacesBytesWith scales them); faces found turned have no
// landmarks. It returns the turn the faces were found under (0: upright),
// the number of scans, and on error the turn that failed.
func FacesTurned(ctx context.Context, emb Embedder, img *image.NRGBA, turns []Turn) (faces []Face, turn, scans int, err error) {
	faces, err = emb.Faces(ctx, img)
	if err != nil || len(faces) > 0 || len(turns) == 0 {
		return faces, 0, 1, err
	}
	b := img.Bounds()
	size := b.Size()
	small := imageutil.Shrink(img, TurnReduce(size, turns[0].Reduce))
	scans = 1
	for _, t := range turns {
		turned := imageutil.Orient(small, imageutil.TurnOrientation(t.Degrees))
		faces, err = emb.Faces(ctx, turned)
		scans++
		if err != nil {
			return nil, t.Degrees, scans, err
		}
		if len(faces) == 0 {
			continue
		}
		tb := turned.Bounds()
		full := size
		if t.Degrees != 180 {
			full = image.Pt(full.Y, full.X)
		}
		for i := range faces {
			faces[i].Box = faces[i].Box.Sub(tb.Min)
		}
		scaleFaces(faces, float64(full.X)/float64(tb.Dx()), float64(full.Y)/float64(tb.Dy()))
		unturnFaces(faces, size, t.Degrees)
		for i := range faces {
			faces[i].Box = faces[i].Box.Add(b.Min)
			faces[i].Landmarks = nil
		}
		return faces, t.Degrees, scans, nil
	}
	return []Face{}, 0, scans, nil
}
