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

// DescribeFunc describes the faces a Locator found in one image, as a
// LocateFunc does, and returns them with boxes and landmarks in the
// caller's coordinates (Scan.ToFull). It runs inside the worker.
type DescribeFunc func(ctx context.Context, s Scan, faces []Located) ([]Face, error)

// FacesBytesWith is Dlib.FacesBytesWith for an embedder built on the
// Locator: the same decoding, limits, look, pixel budget and turned scans
// (and so the same boxes), with the faces described by describe. It is
// safe for concurrent use.
func (l *Locator) FacesBytesWith(ctx context.Context, data []byte, opts BytesOptions, describe DescribeFunc) (BytesResult, error) {
	d := l.d
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
		return l.withDecoded(ctx, data, lim, opts, describe)
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
	var st Stats
	faces, err := l.scanJPEG(ctx, data, hdr, opts.MaxPixels, &st, describe)
	res.Scans++
	res.Stats = addStats(res.Stats, st)
	res.Reduction = 1
	if b := budgetScale(hdr.full, opts.MaxPixels); b < d.dctScale(hdr.full) {
		res.Reduction = 8 / float64(b)
	}
	if err != nil || len(faces) > 0 || len(opts.Turns) == 0 {
		res.Faces = faces
		return res, err
	}
	t = time.Now()
	num := min(8/fitReduce(hdr.full, opts.Turns[0].Reduce), budgetScale(hdr.full, opts.MaxPixels))
	small, err := decodeJPEGNRGBA(data, hdr, num)
	res.Stats.Decode += time.Since(t)
	if err != nil {
		return res, err
	}
	return l.turnScans(ctx, small, res, opts.Turns, describe)
}

// facesOf locates and describes the faces of img.
func (l *Locator) facesOf(ctx context.Context, img image.Image, describe DescribeFunc, cropRetry bool) ([]Face, Stats, error) {
	faces := []Face{}
	st, err := l.locateImage(ctx, img, func(ctx context.Context, s Scan, found []Located) error {
		var err error
		faces, err = describe(ctx, s, found)
		return err
	}, cropRetry)
	if err != nil {
		return nil, st, err
	}
	return faces, st, nil
}

// scanJPEG is Dlib.scanJPEG with the Locator's describe.
func (l *Locator) scanJPEG(ctx context.Context, data []byte, hdr jpegHeader, maxPixels int64, st *Stats, describe DescribeFunc) ([]Face, error) {
	d := l.d
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.wg.Done()
	wk, release, err := d.acquire(ctx, st)
	if err != nil {
		return nil, err
	}
	defer release()
	full := hdr.full
	num := d.dctScale(full)
	budget := budgetScale(full, maxPixels)
	reduced := budget < num
	num = min(num, budget)
	t := time.Now()
	size, err := wk.SetJPEG(data, dlib.JPEGOptions{
		ScaleNum:    num,
		MaxMemory:   jpegMaxMemory(hdr.info),
		MaxScans:    jpegMaxScans,
		Orientation: hdr.orientation,
	})
	st.Decode += time.Since(t)
	if err != nil {
		return nil, decodeError(err)
	}
	defer wk.ClearImage()
	st.DecodeScale = float64(size.X) / float64(full.X)
	if size.X <= 0 || size.Y <= 0 || size.X > full.X || size.Y > full.Y {
		return nil, fmt.Errorf("%w: jpeg: decoded %v of a %v image", imageutil.ErrCorrupt, size, full)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A budget-reduced image is scanned as if it were full resolution,
	// as Dlib scans it, then the faces are scaled back.
	scan := Scan{Worker: wk, Size: size, Full: full}
	if reduced {
		scan.Full = size
	}
	faces := []Face{}
	err = l.locate(ctx, scan, st, func(ctx context.Context, s Scan, found []Located) error {
		var err error
		faces, err = describe(ctx, s, found)
		return err
	})
	if err != nil {
		return nil, err
	}
	if reduced {
		scaleFaces(faces, float64(full.X)/float64(size.X), float64(full.Y)/float64(size.Y))
	}
	return faces, nil
}

// turnScans is Dlib.turnScans with the Locator's describe (a reduced copy
// is scanned without the crop retry).
func (l *Locator) turnScans(ctx context.Context, small *image.NRGBA, res BytesResult, turns []Turn, describe DescribeFunc) (BytesResult, error) {
	cropRetry := small.Bounds().Size() == res.Size
	for _, tr := range turns {
		turned := imageutil.Orient(small, turnOrientation(tr.Degrees))
		faces, st, err := l.facesOf(ctx, turned, describe, cropRetry)
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

// withDecoded is Dlib.withDecoded with the Locator's describe.
func (l *Locator) withDecoded(ctx context.Context, data []byte, lim imageutil.Limits, opts BytesOptions, describe DescribeFunc) (BytesResult, error) {
	var res BytesResult
	t := time.Now()
	img, err := imageutil.DecodeBytes(data, imageutil.WithLimits(lim), imageutil.WithPixelBudget(opts.MaxPixels))
	dec := time.Since(t)
	if err != nil {
		res.Stats.Decode = dec
		return res, err
	}
	rgb := img.RGB
	k := max(img.Reduction, 1)
	res.Size, res.Reduction = rgb.Bounds().Size().Mul(k), float64(k)
	if opts.Look != nil {
		if err := opts.Look(rgb); err != nil {
			res.Stats.Decode = dec
			return res, err
		}
	}
	faces, st, err := l.facesOf(ctx, rgb, describe, true)
	st.Decode, st.DecodeScale = dec, 1/float64(k)
	res.Stats, res.Scans = st, 1
	scaleFaces(faces, float64(k), float64(k))
	if err != nil || len(faces) > 0 || len(opts.Turns) == 0 {
		res.Faces = faces
		return res, err
	}
	small := rgb
	sz := rgb.Bounds().Size()
	if reduce := fitReduce(sz, opts.Turns[0].Reduce); reduce > 1 {
		small = imageutil.Resize(rgb, max(1, sz.X/reduce), max(1, sz.Y/reduce))
	}
	return l.turnScans(ctx, small, res, opts.Turns, describe)
}
