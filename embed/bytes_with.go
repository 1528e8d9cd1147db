package embed

import (
	"context"
	"fmt"
	"image"
	"math"
	"sync"
	"time"

	"github.com/faceoptout/faceoptout/embed/internal/dlib"
	"github.com/faceoptout/faceoptout/imageutil"
)

// LookMinSide is the shorter side, in pixels, below which the image
// FacesBytesWith passes to BytesOptions.Look is never reduced: a JPEG's
// look is DCT-scaled to the smallest of 1/8, 1/4, 1/2 that keeps at least
// this many pixels on its shorter side.
const LookMinSide = 128

// Turn is one extra scan of FacesBytesWith: the image turned clockwise by
// Degrees (90, 180 or 270) after its EXIF orientation, scanned Reduce
// times smaller than an upright scan (1, 2, 4 or 8; 0 means 1), so that
// only faces of at least Reduce*MinFaceSize are sure to be found, for
// about 1/Reduce² of an upright scan's detection cost. An image is never
// reduced below a longer side of 1024 px: small images are scanned whole.
type Turn struct {
	Degrees int
	Reduce  int
}

// BytesOptions shape one FacesBytesWith call. The zero value makes it
// FacesBytes.
type BytesOptions struct {
	// Look, when not nil, is called once the image is decoded and oriented
	// and before any face is searched, with the image or, for a JPEG, a
	// reduced copy of it (DCT-scaled, LookMinSide): enough for a perceptual
	// hash, which averages the image over a 32x32 grid. An error from Look
	// ends the call with that error before any worker is taken. Look must
	// not keep the image.
	Look func(img image.Image) error
	// Turns are tried in order, each only while no face has been found.
	Turns []Turn
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
	// Stats sums the timings of every scan; the other fields are the
	// last scan's.
	Stats Stats
}

// FacesBytesWith is FacesBytes with a look at the decoded image before any
// face is searched and extra scans of the image turned, for images
// uploaded sideways or upside down without EXIF orientation. Decoding,
// limits and errors are FacesBytes's. A JPEG is decoded once per scan
// inside the worker (the look is decoded outside any worker, DCT-scaled);
// any other format is decoded once, and a turned scan works on a reduced,
// turned copy, never a full-size one. It is safe for concurrent use.
func (d *Dlib) FacesBytesWith(ctx context.Context, data []byte, opts BytesOptions) (BytesResult, error) {
	var res BytesResult
	for _, t := range opts.Turns {
		if t.Degrees != 90 && t.Degrees != 180 && t.Degrees != 270 {
			return res, fmt.Errorf("%w: turn of %d degrees", ErrConfig, t.Degrees)
		}
		if r := t.Reduce; r != 0 && r != 1 && r != 2 && r != 4 && r != 8 {
			return res, fmt.Errorf("%w: turn reduced %d times", ErrConfig, t.Reduce)
		}
	}
	lim := d.cfg.decodeLimits()
	if n := int64(len(data)); n > lim.MaxBytes {
		return res, &imageutil.LimitError{Limit: imageutil.LimitBytes, Value: n, Max: lim.MaxBytes}
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if !isJPEG(data) {
		return d.withDecoded(ctx, data, lim, opts)
	}
	t := time.Now()
	hdr, err := d.readJPEGHeader(data, lim)
	res.Stats.Decode = time.Since(t)
	if err != nil {
		return res, err
	}
	res.Size = hdr.full
	if opts.Look != nil {
		t = time.Now()
		look, err := lookJPEG(data, hdr)
		res.Stats.Decode += time.Since(t)
		if err != nil {
			return res, err
		}
		if err := opts.Look(look); err != nil {
			return res, err
		}
	}
	scan := func(turn, reduce int) ([]Face, error) {
		var st Stats
		faces, err := d.scanJPEG(ctx, data, hdr, turn, reduce, &st)
		res.Scans++
		res.Stats = addStats(res.Stats, st)
		return faces, err
	}
	faces, err := scan(0, 1)
	if err != nil {
		return res, err
	}
	for _, tr := range opts.Turns {
		if len(faces) > 0 {
			break
		}
		faces, err = scan(tr.Degrees, fitReduce(hdr.full, tr.Reduce))
		if err != nil {
			return res, err
		}
		if len(faces) > 0 {
			res.Turn = tr.Degrees
			unturnFaces(faces, hdr.full, tr.Degrees)
		}
	}
	res.Faces = faces
	return res, nil
}

// withDecoded is FacesBytesWith for formats other than JPEG: one decode by
// imageutil, then scans of the image and of reduced turned copies.
func (d *Dlib) withDecoded(ctx context.Context, data []byte, lim imageutil.Limits, opts BytesOptions) (BytesResult, error) {
	var res BytesResult
	t := time.Now()
	img, err := imageutil.DecodeBytes(data, imageutil.WithLimits(lim))
	dec := time.Since(t)
	if err != nil {
		res.Stats.Decode = dec
		return res, err
	}
	rgb := img.RGB
	res.Size = rgb.Bounds().Size()
	if opts.Look != nil {
		if err := opts.Look(rgb); err != nil {
			res.Stats.Decode = dec
			return res, err
		}
	}
	faces, st, err := d.FacesWithStats(ctx, rgb)
	st.Decode, st.DecodeScale = dec, 1
	res.Stats, res.Scans = st, 1
	if err != nil {
		return res, err
	}
	for _, tr := range opts.Turns {
		if len(faces) > 0 {
			break
		}
		reduce := fitReduce(res.Size, tr.Reduce)
		small := rgb
		if reduce > 1 {
			small = imageutil.Resize(rgb, max(1, res.Size.X/reduce), max(1, res.Size.Y/reduce))
		}
		turned := imageutil.Orient(small, turnOrientation(tr.Degrees))
		var st Stats
		faces, st, err = d.FacesWithStats(ctx, turned)
		res.Stats = addStats(res.Stats, st)
		res.Scans++
		if err != nil {
			return res, err
		}
		if len(faces) > 0 {
			res.Turn = tr.Degrees
			tb := turned.Bounds().Size()
			full := res.Size
			if tr.Degrees != 180 {
				full = image.Pt(full.Y, full.X)
			}
			scaleFaces(faces, float64(full.X)/float64(tb.X), float64(full.Y)/float64(tb.Y))
			unturnFaces(faces, res.Size, tr.Degrees)
		}
	}
	res.Faces = faces
	return res, nil
}

// lookJPEG decodes a reduced, oriented copy of a JPEG for BytesOptions.Look.
func lookJPEG(data []byte, hdr jpegHeader) (*image.NRGBA, error) {
	num := 8
	short := min(hdr.info.Width, hdr.info.Height)
	for num > 1 && short*(num/2)/8 >= LookMinSide {
		num /= 2
	}
	pix, w, h, err := dlib.DecodeJPEG(data, dlib.JPEGOptions{ScaleNum: num, MaxMemory: jpegMaxMemory(hdr.info), MaxScans: jpegMaxScans})
	if err != nil {
		return nil, decodeError(err)
	}
	if w <= 0 || h <= 0 || len(pix) < w*h*3 {
		return nil, fmt.Errorf("%w: jpeg: decoded %dx%d", imageutil.ErrCorrupt, w, h)
	}
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i, j := 0, 0; i+2 < len(pix) && j+3 < len(m.Pix); i, j = i+3, j+4 {
		m.Pix[j], m.Pix[j+1], m.Pix[j+2], m.Pix[j+3] = pix[i], pix[i+1], pix[i+2], 0xff
	}
	if hdr.orientation > 1 {
		m = imageutil.Orient(m, hdr.orientation)
	}
	return m, nil
}

// fitReduce returns the largest of 1, 2, 4, 8 at most r (0 means 1) that
// keeps the longer side of an image of size full at 2*maxCropSide or more.
func fitReduce(full image.Point, r int) int {
	r = max(r, 1)
	for r > 1 && max(full.X, full.Y)/r < minScaledSide {
		r /= 2
	}
	return r
}

// turnOrientation is the EXIF orientation that turns an upright image
// clockwise by deg degrees.
func turnOrientation(deg int) int {
	switch deg {
	case 90:
		return 6
	case 180:
		return 3
	case 270:
		return 8
	}
	return 1
}

// orientTable returns comp[o][t]: the EXIF orientation equal to applying
// orientation o, then orientation t (one of 1, 3, 6, 8: a clockwise turn),
// found by orienting a 3x2 probe image every way.
var orientTable = sync.OnceValue(func() [9][9]int {
	probe := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range probe.Pix {
		probe.Pix[i] = byte(i)
	}
	var oriented [9]*image.NRGBA
	for o := 1; o <= 8; o++ {
		oriented[o] = imageutil.Orient(probe, o)
	}
	// comp[o][t] is the orientation of "apply o, then turn t", for t the
	// orientations 1, 3, 6, 8.
	var comp [9][9]int
	for o := 1; o <= 8; o++ {
		for _, t := range []int{1, 3, 6, 8} {
			both := imageutil.Orient(oriented[o], t)
			for c := 1; c <= 8; c++ {
				if both.Rect == oriented[c].Rect && string(both.Pix) == string(oriented[c].Pix) {
					comp[o][t] = c
					break
				}
			}
		}
	}
	return comp
})

// composeTurn returns the EXIF orientation that applies orientation o and
// then turns the result clockwise by deg degrees.
func composeTurn(o, deg int) int {
	if o < 1 || o > 8 {
		o = 1
	}
	if deg == 0 {
		return o
	}
	if c := orientTable()[o][turnOrientation(deg)]; c != 0 {
		return c
	}
	return o
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
