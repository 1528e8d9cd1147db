//go:build cgo

package embed

import (
	"context"
	"errors"
	"fmt"
	"image"
	"time"

	"github.com/faceoptout/faceoptout/embed/internal/dlib"
	"github.com/faceoptout/faceoptout/imageutil"
)

const (
	// jpegMaxScans bounds the scans of a progressive JPEG (libjpeg-turbo's
	// djpeg suggests a few hundred; encoders write about ten).
	jpegMaxScans = 256
	// minScaledSide is the longest side below which a JPEG is never
	// decoded scaled: small images (crops) keep every pixel.
	minScaledSide = 2 * maxCropSide
)

// FacesBytes is Faces for an encoded image. JPEG is decoded by
// libjpeg-turbo inside the worker, straight into dlib's layout and, when
// detection only needs half the resolution or less, scaled in the DCT
// domain (the full-size image is never decoded). Every other format, and
// any JPEG libjpeg cannot read, goes through imageutil.DecodeBytes.
//
// The decode is bounded as imageutil's is: DlibConfig.DecodeLimits (input
// bytes, and pixels declared by the header, checked before any pixel is
// allocated), plus a bound on libjpeg's memory and on the scans of a
// progressive JPEG. EXIF orientation is applied. Decoding errors wrap
// imageutil's sentinels (ErrTooLarge as a *imageutil.LimitError,
// ErrFormat, ErrCorrupt), exactly as imageutil.DecodeBytes reports them;
// a truncated or corrupt JPEG is an error, never a partly decoded image.
// Boxes, landmarks and sizes are in the coordinates of the oriented
// full-resolution image, as if it had been decoded with imageutil.
//
// data is only read during the call. FacesBytes is safe for concurrent use.
func (d *Dlib) FacesBytes(ctx context.Context, data []byte) ([]Face, error) {
	faces, _, err := d.FacesBytesWithStats(ctx, data)
	return faces, err
}

// FacesBytesWithStats is FacesBytes that also reports per-stage timings
// (Stats.Decode included).
func (d *Dlib) FacesBytesWithStats(ctx context.Context, data []byte) ([]Face, Stats, error) {
	var st Stats
	lim := d.cfg.decodeLimits()
	if n := int64(len(data)); n > lim.MaxBytes {
		return nil, st, &imageutil.LimitError{Limit: imageutil.LimitBytes, Value: n, Max: lim.MaxBytes}
	}
	if !isJPEG(data) {
		return d.decodeThenFaces(ctx, data, lim, st)
	}
	if err := ctx.Err(); err != nil {
		return nil, st, err
	}
	t := time.Now()
	hdr, err := d.readJPEGHeader(data, lim)
	st.Decode = time.Since(t)
	if err != nil {
		return nil, st, err
	}
	faces, err := d.scanJPEG(ctx, data, hdr, 0, &st, nil)
	return faces, st, err
}

// jpegHeader is what FacesBytes needs from a JPEG's header.
type jpegHeader struct {
	info dlib.JPEGInfo
	// orientation is the EXIF orientation (1 to 8); full is the size of
	// the oriented full-resolution image.
	orientation int
	full        image.Point
}

// readJPEGHeader reads a JPEG's header and checks it against the limits.
func (d *Dlib) readJPEGHeader(data []byte, lim imageutil.Limits) (jpegHeader, error) {
	info, err := dlib.ReadJPEGInfo(data)
	if err != nil {
		return jpegHeader{}, decodeError(err)
	}
	if info.Width <= 0 || info.Height <= 0 {
		return jpegHeader{}, fmt.Errorf("%w: jpeg: header declares %dx%d pixels", imageutil.ErrCorrupt, info.Width, info.Height)
	}
	if px := int64(info.Width) * int64(info.Height); px > lim.MaxPixels {
		return jpegHeader{}, &imageutil.LimitError{Limit: imageutil.LimitPixels, Value: px, Max: lim.MaxPixels,
			Format: imageutil.FormatJPEG, Width: info.Width, Height: info.Height}
	}
	if int64(info.Width)*int64(info.Height) > int64(d.cfg.MaxPixels) {
		return jpegHeader{}, fmt.Errorf("%w: %dx%d is more than %d pixels", ErrImage, info.Width, info.Height, d.cfg.MaxPixels)
	}
	h := jpegHeader{info: info, orientation: imageutil.Orientation(data), full: image.Pt(info.Width, info.Height)}
	if h.orientation >= 5 {
		h.full = image.Pt(info.Height, info.Width)
	}
	return h, nil
}

// scanJPEG decodes the JPEG in a worker, oriented and DCT-scaled to what
// detection needs, and finds its faces. Boxes and landmarks are in the
// coordinates of the oriented full-resolution image.
//
// maxPixels, when above 0, bounds the decoded pixels: a larger JPEG is
// decoded at the largest DCT scale within it and scanned as if that were
// its full resolution; faces are then scaled back.
func (d *Dlib) scanJPEG(ctx context.Context, data []byte, hdr jpegHeader, maxPixels int64, st *Stats, look func(image.Image) error) ([]Face, error) {
	return d.jpegScan(ctx, data, hdr, maxPixels, st, look, func(wk *dlib.Worker, size, full image.Point) ([]Face, error) {
		return d.run(ctx, wk, size, full, image.Point{}, st)
	})
}

// jpegScan takes a worker, decodes the JPEG into it as scanJPEG describes,
// calls look (when not nil) with a copy of the decoded image shrunk to no
// less than LookMinSide on its shorter side, and unless look fails calls
// scan with the worker, the decoded size and the size the scan takes as
// full resolution (the decoded size itself when maxPixels reduced the
// image); faces found in a budget-reduced image are scaled back.
func (d *Dlib) jpegScan(ctx context.Context, data []byte, hdr jpegHeader, maxPixels int64, st *Stats, look func(image.Image) error, scan func(wk *dlib.Worker, size, full image.Point) ([]Face, error)) ([]Face, error) {
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
	if look != nil {
		t := time.Now()
		img, err := wk.Shrink(LookShrink(size))
		st.Decode += time.Since(t)
		if err != nil {
			return nil, wrapDlib(err)
		}
		if err := look(img); err != nil {
			return nil, err
		}
	}
	if !reduced {
		return scan(wk, size, full)
	}
	faces, err := scan(wk, size, size)
	if err != nil {
		return nil, err
	}
	scaleFaces(faces, float64(full.X)/float64(size.X), float64(full.Y)/float64(size.Y))
	return faces, nil
}

// budgetScale returns the numerator (over 8) of the largest of
// libjpeg-turbo's DCT scales 8/8, 4/8, 2/8, 1/8 that keeps an image of
// size full within maxPixels (8 when maxPixels <= 0).
func budgetScale(full image.Point, maxPixels int64) int {
	num := 8
	for num > 1 && maxPixels > 0 && int64(full.X*num/8)*int64(full.Y*num/8) > maxPixels {
		num /= 2
	}
	return num
}

// decodeThenFaces decodes a non-JPEG image with imageutil, then runs
// FacesWithStats on it.
func (d *Dlib) decodeThenFaces(ctx context.Context, data []byte, lim imageutil.Limits, st Stats) ([]Face, Stats, error) {
	if err := ctx.Err(); err != nil {
		return nil, st, err
	}
	t := time.Now()
	img, err := imageutil.DecodeBytes(data, imageutil.WithLimits(lim))
	dec := time.Since(t)
	if err != nil {
		st.Decode = dec
		return nil, st, err
	}
	faces, st, err := d.FacesWithStats(ctx, img.RGB)
	st.Decode, st.DecodeScale = dec, 1
	return faces, st, err
}

// dctScale returns the numerator (over 8) to decode a JPEG with: the
// smallest of libjpeg-turbo's SIMD scales (1/8, 1/4, 1/2; the others
// decode slower than a full-size decode followed by a resize) that still
// holds detection's scanned image, so faces of MinFaceSize keep the
// detector's native size. Landmarks and descriptors are then computed on
// that image: a face of MinFaceSize has at least the native size (80 px)
// there, on which descriptors stay within the agreement the README reports.
func (d *Dlib) dctScale(full image.Point) int {
	if max(full.X, full.Y) < minScaledSide {
		return 8
	}
	s, _, _ := d.scale(full.X, full.Y)
	num := 8
	for num > 1 && float64(num/2)/8 >= s {
		num /= 2
	}
	return num
}

// jpegMaxMemory bounds libjpeg's own allocations (coefficient buffers of
// a progressive JPEG, row buffers): twice the coefficients of the whole
// image at 4:4:4, plus slack for small images.
func jpegMaxMemory(info dlib.JPEGInfo) int64 {
	comps := int64(max(info.Components, 1))
	return 2*int64(info.Width+16)*int64(info.Height+16)*comps*2 + 64<<20
}

func isJPEG(b []byte) bool { return len(b) >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff }

// decodeError maps libjpeg's refusals to imageutil.ErrCorrupt.
func decodeError(err error) error {
	var de *dlib.Error
	if errors.As(err, &de) && de.Kind == dlib.Decode {
		return fmt.Errorf("%w: jpeg: libjpeg: %s", imageutil.ErrCorrupt, de.Msg)
	}
	return wrapDlib(err)
}
