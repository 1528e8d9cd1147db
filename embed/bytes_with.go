//go:build cgo

package embed

import (
	"context"
	"fmt"
	"image"
	"time"

	"github.com/faceoptout/faceoptout/embed/internal/dlib"
	"github.com/faceoptout/faceoptout/imageutil"
)

// FacesBytesWith is FacesBytes with a look at the decoded image before any
// face is searched and extra scans of the image turned, for images
// uploaded sideways or upside down without EXIF orientation. Decoding,
// limits and errors are FacesBytes's. The upright scan decodes a JPEG in
// the worker, as FacesBytes does, and the look sees a copy of that decode
// shrunk by LookShrink; the turned scans use a copy decoded outside the
// workers, DCT-scaled (one reduced copy serves every turn). Any other
// format is decoded once, by imageutil, and turned scans work on a reduced
// copy: never a full-size turned copy. It is safe for concurrent use.
func (d *Dlib) FacesBytesWith(ctx context.Context, data []byte, opts BytesOptions) (BytesResult, error) {
	return facesBytesWith(ctx, d, d, data, opts)
}

// scanner finds and describes faces for facesBytesWith: Dlib with its own
// descriptors, or a Locator with its DescribeFunc.
type scanner interface {
	// scanJPEG decodes a JPEG in a worker, calls look (when not nil) with
	// a reduced copy, and finds its faces (Dlib.scanJPEG).
	scanJPEG(ctx context.Context, data []byte, hdr jpegHeader, maxPixels int64, st *Stats, look func(image.Image) error) ([]Face, error)
	// scanImage finds the faces of a decoded image; cropRetry false skips
	// the crop retry.
	scanImage(ctx context.Context, img image.Image, cropRetry bool) ([]Face, Stats, error)
}

func (d *Dlib) scanImage(ctx context.Context, img image.Image, cropRetry bool) ([]Face, Stats, error) {
	return d.facesWithStats(ctx, img, cropRetry)
}

// facesBytesWith is FacesBytesWith over d's workers, decoding and limits,
// with the faces found and described by s.
func facesBytesWith(ctx context.Context, d *Dlib, s scanner, data []byte, opts BytesOptions) (BytesResult, error) {
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
		return withDecoded(ctx, s, data, lim, opts)
	}
	t := time.Now()
	hdr, err := d.readJPEGHeader(data, lim)
	res.Stats.Decode = time.Since(t)
	if err != nil {
		return res, err
	}
	res.Size = hdr.full
	if opts.Look != nil && opts.LookOnly {
		t = time.Now()
		look, err := lookJPEG(data, hdr)
		res.Stats.Decode += time.Since(t)
		if err != nil {
			return res, err
		}
		return res, opts.Look(look)
	}
	// The look sees a shrunk copy of the image the worker decodes for the
	// scan: one decode of the file.
	var look func(image.Image) error
	var lookErr error
	if opts.Look != nil {
		look = func(img image.Image) error {
			lookErr = opts.Look(img)
			return lookErr
		}
	}
	var st Stats
	faces, err := s.scanJPEG(ctx, data, hdr, opts.MaxPixels, &st, look)
	res.Stats = addStats(res.Stats, st)
	if lookErr != nil {
		return res, lookErr
	}
	res.Scans++
	res.Reduction = 1
	if b := budgetScale(hdr.full, opts.MaxPixels); b < d.dctScale(hdr.full) {
		res.Reduction = 8 / float64(b)
	}
	if err != nil || len(faces) > 0 || len(opts.Turns) == 0 {
		res.Faces = faces
		return res, err
	}
	// One reduced decode, outside the workers, for every turn.
	t = time.Now()
	num := min(8/TurnReduce(hdr.full, opts.Turns[0].Reduce), budgetScale(hdr.full, opts.MaxPixels))
	small, err := decodeJPEGNRGBA(data, hdr, num)
	res.Stats.Decode += time.Since(t)
	if err != nil {
		return res, err
	}
	return turnScans(ctx, s, small, res, opts.Turns)
}

// turnScans scans small, a reduced copy of the oriented image, turned by
// each of turns until one finds a face, and maps the faces back to the
// full-resolution image (res.Size). The crop retry (DlibConfig.NoCropRetry)
// applies only when small is the image at full resolution: a reduced copy
// of a larger image is no face crop.
func turnScans(ctx context.Context, s scanner, small *image.NRGBA, res BytesResult, turns []Turn) (BytesResult, error) {
	cropRetry := small.Bounds().Size() == res.Size
	for _, tr := range turns {
		turned := imageutil.Orient(small, imageutil.TurnOrientation(tr.Degrees))
		faces, st, err := s.scanImage(ctx, turned, cropRetry)
		res.Stats = addStats(res.Stats, st)
		res.Scans++
		if err != nil {
			return res, err
		}
		if len(faces) == 0 {
			continue
		}
		tb := turned.Bounds().Size()
		full := res.Size
		if tr.Degrees != 180 {
			full = image.Pt(full.Y, full.X)
		}
		scaleFaces(faces, float64(full.X)/float64(tb.X), float64(full.Y)/float64(tb.Y))
		unturnFaces(faces, res.Size, tr.Degrees)
		res.Faces, res.Turn = faces, tr.Degrees
		return res, nil
	}
	res.Faces = []Face{}
	return res, nil
}

// withDecoded is FacesBytesWith for formats other than JPEG: one decode by
// imageutil, then scans of the image and of reduced turned copies.
func withDecoded(ctx context.Context, s scanner, data []byte, lim imageutil.Limits, opts BytesOptions) (BytesResult, error) {
	var res BytesResult
	t := time.Now()
	img, err := imageutil.DecodeBytesContext(ctx, data, imageutil.WithLimits(lim), imageutil.WithPixelBudget(opts.MaxPixels))
	dec := time.Since(t)
	if err != nil {
		res.Stats.Decode = dec
		return res, err
	}
	rgb := img.RGB
	k := max(img.Reduction, 1)
	res.Size, res.Reduction = rgb.Bounds().Size().Mul(k), float64(k)
	if opts.Look != nil {
		if err := opts.Look(rgb); err != nil || opts.LookOnly {
			res.Stats.Decode = dec
			return res, err
		}
	}
	faces, st, err := s.scanImage(ctx, rgb, true)
	st.Decode, st.DecodeScale = dec, 1/float64(k)
	res.Stats, res.Scans = st, 1
	scaleFaces(faces, float64(k), float64(k))
	if err != nil || len(faces) > 0 || len(opts.Turns) == 0 {
		res.Faces = faces
		return res, err
	}
	// A box mean, as a JPEG's DCT-scaled copy is.
	small := imageutil.Shrink(rgb, TurnReduce(rgb.Bounds().Size(), opts.Turns[0].Reduce))
	return turnScans(ctx, s, small, res, opts.Turns)
}

// lookJPEG decodes a reduced, oriented copy of a JPEG for BytesOptions.Look.
func lookJPEG(data []byte, hdr jpegHeader) (*image.NRGBA, error) {
	num := 8
	short := min(hdr.info.Width, hdr.info.Height)
	for num > 1 && short*(num/2)/8 >= LookMinSide {
		num /= 2
	}
	return decodeJPEGNRGBA(data, hdr, num)
}

// decodeJPEGNRGBA decodes a JPEG scaled by num/8 in the DCT domain,
// outside the workers, into an oriented NRGBA image.
func decodeJPEGNRGBA(data []byte, hdr jpegHeader, num int) (*image.NRGBA, error) {
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
