//go:build cgo

package embed

import (
	"context"
	"fmt"
	"image"
	"math"
	"sort"
	"time"

	"github.com/faceoptout/faceoptout/embed/internal/dlib"
	"github.com/faceoptout/faceoptout/imageutil"
)

// Locator runs the Dlib embedder's detection (the same scan, so the same
// boxes) without dlib's landmarks and descriptors, and hands each image,
// still inside its worker, to a function that describes the faces with
// another model: it is the detection stage of embedders beside Dlib (see
// embed/onnx). Its workers hold only the HOG detectors and read no model
// file. All its methods are safe for concurrent use; at most Workers
// images are processed at once.
type Locator struct {
	d *Dlib
}

// Scan is the image a LocateFunc describes: the worker that holds it and
// how the worker's image maps to the full-resolution image.
type Scan struct {
	// Worker holds the image; it is valid only during the LocateFunc call.
	Worker *dlib.Worker
	// Size is the size of the worker's image, Full the size of the
	// full-resolution image (larger when a JPEG was decoded scaled).
	Size, Full image.Point
	// Origin is added to full-resolution coordinates (the Min of the
	// image.Image given to Locate).
	Origin image.Point
	// noCropRetry skips the crop retry (a turned scan's reduced copy).
	noCropRetry bool
}

// ToFull maps a point of the worker's image to the caller's coordinates.
func (s Scan) ToFull(x, y float64) (float64, float64) {
	fx, fy := float64(s.Full.X)/float64(s.Size.X), float64(s.Full.Y)/float64(s.Size.Y)
	return x*fx + float64(s.Origin.X), y*fy + float64(s.Origin.Y)
}

// Located is one face the detector found.
type Located struct {
	// Rect is the detection in the worker's image.
	Rect image.Rectangle
	// Face has the Box and the Quality's Size, Score and Pose exactly as
	// Dlib reports them; the rest is for the LocateFunc to fill.
	Face Face
}

// LocateFunc describes the faces found in one image. faces is sorted top
// to bottom then left to right, as Dlib sorts them, and is never empty.
type LocateFunc func(ctx context.Context, s Scan, faces []Located) error

// NewLocator validates cfg and starts cfg.Workers workers. Only the HOG
// detector is supported (ErrConfig otherwise); ModelsDir, ChipPadding and
// Jitter are not used.
func NewLocator(cfg DlibConfig) (*Locator, error) {
	if cfg.ModelsDir == "" {
		cfg.ModelsDir = "-"
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Detector != HOG {
		return nil, fmt.Errorf("%w: Detector: a Locator runs only %q", ErrConfig, HOG)
	}
	first, err := dlib.LoadHOG()
	if err != nil {
		return nil, wrapDlib(err)
	}
	d, err := newPool(cfg, first)
	if err != nil {
		return nil, err
	}
	return &Locator{d: d}, nil
}

// Config returns the configuration l was made with.
func (l *Locator) Config() DlibConfig { return l.d.cfg }

// Close waits for the calls in flight, then frees the workers. Later
// calls return ErrClosed. Close is idempotent.
func (l *Locator) Close() error { return l.d.Close() }

// Locate finds the faces of img, as Dlib.Faces does, and calls fn with
// them unless there are none. It returns fn's error as is. Stats.Describe
// is the time spent in fn.
func (l *Locator) Locate(ctx context.Context, img image.Image, fn LocateFunc) (Stats, error) {
	return l.locateImage(ctx, img, fn, true)
}

// locateImage is Locate; cropRetry false skips the crop retry.
func (l *Locator) locateImage(ctx context.Context, img image.Image, fn LocateFunc, cropRetry bool) (Stats, error) {
	d := l.d
	var st Stats
	if img == nil {
		return st, fmt.Errorf("%w: nil image", ErrImage)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return st, fmt.Errorf("%w: empty image %v", ErrImage, b)
	}
	if int64(w)*int64(h) > int64(d.cfg.MaxPixels) {
		return st, fmt.Errorf("%w: %dx%d is more than %d pixels", ErrImage, w, h, d.cfg.MaxPixels)
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if err := d.enter(); err != nil {
		return st, err
	}
	defer d.wg.Done()
	t := time.Now()
	pix, stride, bpp := pixels(img)
	st.Convert = time.Since(t)
	wk, release, err := d.acquire(ctx, &st)
	if err != nil {
		return st, err
	}
	defer release()
	t = time.Now()
	if err := wk.SetImage(pix, w, h, stride, bpp); err != nil {
		return st, wrapDlib(err)
	}
	defer wk.ClearImage()
	st.Convert += time.Since(t)
	err = l.locate(ctx, Scan{Worker: wk, Size: image.Pt(w, h), Full: image.Pt(w, h), Origin: b.Min, noCropRetry: !cropRetry}, &st, fn)
	return st, err
}

// LocateBytes is Locate for an encoded image, decoded as Dlib.FacesBytes
// decodes it (JPEG inside the worker, scaled in the DCT domain when
// detection allows it; other formats through imageutil), within the same
// limits and with the same errors.
func (l *Locator) LocateBytes(ctx context.Context, data []byte, fn LocateFunc) (Stats, error) {
	d := l.d
	var st Stats
	lim := d.cfg.decodeLimits()
	if n := int64(len(data)); n > lim.MaxBytes {
		return st, &imageutil.LimitError{Limit: imageutil.LimitBytes, Value: n, Max: lim.MaxBytes}
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if !isJPEG(data) {
		t := time.Now()
		img, err := imageutil.DecodeBytes(data, imageutil.WithLimits(lim))
		dec := time.Since(t)
		if err != nil {
			st.Decode = dec
			return st, err
		}
		st, err = l.Locate(ctx, img.RGB, fn)
		st.Decode, st.DecodeScale = dec, 1
		return st, err
	}
	t := time.Now()
	info, err := dlib.ReadJPEGInfo(data)
	if err != nil {
		return st, decodeError(err)
	}
	if info.Width <= 0 || info.Height <= 0 {
		return st, fmt.Errorf("%w: jpeg: header declares %dx%d pixels", imageutil.ErrCorrupt, info.Width, info.Height)
	}
	if px := int64(info.Width) * int64(info.Height); px > lim.MaxPixels {
		return st, &imageutil.LimitError{Limit: imageutil.LimitPixels, Value: px, Max: lim.MaxPixels,
			Format: imageutil.FormatJPEG, Width: info.Width, Height: info.Height}
	}
	if int64(info.Width)*int64(info.Height) > int64(d.cfg.MaxPixels) {
		return st, fmt.Errorf("%w: %dx%d is more than %d pixels", ErrImage, info.Width, info.Height, d.cfg.MaxPixels)
	}
	o := imageutil.Orientation(data)
	full := image.Pt(info.Width, info.Height)
	if o >= 5 {
		full = image.Pt(info.Height, info.Width)
	}
	st.Decode = time.Since(t)
	if err := d.enter(); err != nil {
		return st, err
	}
	defer d.wg.Done()
	wk, release, err := d.acquire(ctx, &st)
	if err != nil {
		return st, err
	}
	defer release()
	t = time.Now()
	size, err := wk.SetJPEG(data, dlib.JPEGOptions{
		ScaleNum:    d.dctScale(full),
		MaxMemory:   jpegMaxMemory(info),
		MaxScans:    jpegMaxScans,
		Orientation: o,
	})
	st.Decode += time.Since(t)
	if err != nil {
		return st, decodeError(err)
	}
	defer wk.ClearImage()
	st.DecodeScale = float64(size.X) / float64(full.X)
	if size.X <= 0 || size.Y <= 0 || size.X > full.X || size.Y > full.Y {
		return st, fmt.Errorf("%w: jpeg: decoded %v of a %v image", imageutil.ErrCorrupt, size, full)
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	err = l.locate(ctx, Scan{Worker: wk, Size: size, Full: full}, &st, fn)
	return st, err
}

// locate detects as Dlib.run does, then calls fn.
func (l *Locator) locate(ctx context.Context, s Scan, st *Stats, fn LocateFunc) error {
	d := l.d
	w, h := s.Size.X, s.Size.Y
	fx, fy := float64(s.Full.X)/float64(w), float64(s.Full.Y)/float64(h)
	scale, levels, minFace := d.scale(s.Full.X, s.Full.Y)
	st.MinFace, st.Scale = minFace, scale
	rs := scale * fx
	if rs > 0.98 && rs < 1.02 {
		rs = 1
	}
	if s.Size != s.Full {
		levels = 0
	}
	t := time.Now()
	dets, err := d.detectScan(ctx, s.Worker, w, h, rs, levels, st, !s.noCropRetry)
	st.Detect = time.Since(t)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(dets) == 0 {
		return nil
	}
	sort.Slice(dets, func(i, j int) bool {
		a, b := dets[i].Rect.Min, dets[j].Rect.Min
		if a.Y != b.Y {
			return a.Y < b.Y
		}
		return a.X < b.X
	})
	scaled := s.Size != s.Full
	up := func(p image.Point) image.Point {
		if scaled {
			p = image.Pt(int(math.Round(float64(p.X)*fx)), int(math.Round(float64(p.Y)*fy)))
		}
		return p.Add(s.Origin)
	}
	faces := make([]Located, len(dets))
	for i, det := range dets {
		f := &faces[i].Face
		faces[i].Rect = det.Rect
		f.Box = image.Rectangle{Min: up(det.Rect.Min), Max: up(det.Rect.Max)}
		f.Quality = Quality{Size: max(f.Box.Dx(), f.Box.Dy()), Score: det.Score}
		if det.Pose >= 0 && det.Pose < len(poses) {
			f.Quality.Pose = poses[det.Pose]
		}
	}
	t = time.Now()
	err = fn(ctx, s, faces)
	st.Describe = time.Since(t)
	return err
}
