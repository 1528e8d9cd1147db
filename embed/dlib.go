//go:build cgo

package embed

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/faceoptout/faceoptout/embed/internal/dlib"
)

// Native face sizes, in pixels of the scanned image, of dlib's detectors:
// the HOG filters are 80x80 windows; the MMOD CNN finds faces of 80-96 px
// at full size but misses them at 60 px (measured on pristin.jpg).
const (
	hogNativeSize = 80
	cnnNativeSize = 80
	// maxCropSide is the longest side of an image the crop retry applies to.
	maxCropSide = 512
	// cropPadding is the border of the crop retry's first scan.
	cropPadding = 0.5
)

// poses names the HOG sub-detectors by their weight_index.
var poses = [...]string{"frontal", "left", "right", "frontal-rotated-left", "frontal-rotated-right"}

// Dlib finds faces and computes their descriptors with dlib, through a pool
// of workers that each own a copy of the models. It implements Embedder.
// All its methods are safe for concurrent use; at most Workers images are
// processed at once and further calls wait for a free worker.
type Dlib struct {
	cfg    DlibConfig
	model  Model
	native int
	free   chan *dlib.Worker // idle workers
	done   chan struct{}     // closed by Close
	wg     sync.WaitGroup    // calls in flight

	mu      sync.Mutex // guards closed and workers
	closed  bool
	workers []*dlib.Worker // every worker, freed once by Close
}

var _ Embedder = (*Dlib)(nil)

// NewDlib validates cfg, loads the models into cfg.Workers workers and
// returns the embedder. A missing or corrupt model file gives an error
// wrapping ErrNoModels that names the file.
func NewDlib(cfg DlibConfig) (*Dlib, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	files := []string{ShapePredictorFile, ResNetFile}
	if cfg.Detector == CNN {
		files = append(files, CNNDetectorFile)
	}
	for _, f := range files {
		p := filepath.Join(cfg.ModelsDir, f)
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrNoModels, p, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: %s: not a regular file", ErrNoModels, p)
		}
	}
	model, err := dlibModel(cfg)
	if err != nil {
		return nil, err
	}
	first, err := dlib.Load(cfg.ModelsDir, cfg.Detector == CNN)
	if err != nil {
		return nil, wrapDlib(err)
	}
	d, err := newPool(cfg, first)
	if err != nil {
		return nil, err
	}
	d.model = model
	if cfg.Detector == CNN {
		d.native = cnnNativeSize
	}
	return d, nil
}

// newPool returns a Dlib of cfg.Workers workers: first and clones of it,
// all idle. On failure it frees every worker, first included.
func newPool(cfg DlibConfig, first *dlib.Worker) (*Dlib, error) {
	d := &Dlib{
		cfg:     cfg,
		native:  hogNativeSize,
		free:    make(chan *dlib.Worker, cfg.Workers),
		done:    make(chan struct{}),
		workers: []*dlib.Worker{first},
	}
	for len(d.workers) < cfg.Workers {
		w, err := first.Clone()
		if err != nil {
			for _, w := range d.workers {
				w.Free()
			}
			return nil, wrapDlib(err)
		}
		d.workers = append(d.workers, w)
	}
	for _, w := range d.workers {
		d.free <- w
	}
	return d, nil
}

func wrapDlib(err error) error {
	var de *dlib.Error
	if errors.As(err, &de) && de.Kind == dlib.Model {
		return fmt.Errorf("%w: %s", ErrNoModels, de.Msg)
	}
	return fmt.Errorf("%w: %v", ErrDlib, err)
}

// Model implements Embedder: dlib's ResNet, identified by the SHA-256 of
// its two model files and the chip padding (see DlibModelName).
func (d *Dlib) Model() Model { return d.model }

// Config returns the configuration d was made with.
func (d *Dlib) Config() DlibConfig { return d.cfg }

// Close waits for the calls in flight, then frees the models. Later calls
// return ErrClosed. Close is idempotent and safe for concurrent use.
func (d *Dlib) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	close(d.done)
	d.mu.Unlock()
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.workers {
		w.Free()
	}
	d.workers = nil
	return nil
}

// Faces returns the faces in img with their descriptors, sorted top to
// bottom then left to right; an image without faces gives an empty slice.
// Boxes, landmarks and sizes are in img's coordinates. It is safe for
// concurrent use.
func (d *Dlib) Faces(ctx context.Context, img image.Image) ([]Face, error) {
	faces, _, err := d.FacesWithStats(ctx, img)
	return faces, err
}

// FacesWithStats is Faces that also reports per-stage timings.
func (d *Dlib) FacesWithStats(ctx context.Context, img image.Image) ([]Face, Stats, error) {
	return d.facesWithStats(ctx, img, true)
}

// facesWithStats is FacesWithStats; cropRetry false skips the crop retry
// (for a reduced copy of a larger image, which is no face crop).
func (d *Dlib) facesWithStats(ctx context.Context, img image.Image, cropRetry bool) ([]Face, Stats, error) {
	var st Stats
	if img == nil {
		return nil, st, fmt.Errorf("%w: nil image", ErrImage)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, st, fmt.Errorf("%w: empty image %v", ErrImage, b)
	}
	if int64(w)*int64(h) > int64(d.cfg.MaxPixels) {
		return nil, st, fmt.Errorf("%w: %dx%d is more than %d pixels", ErrImage, w, h, d.cfg.MaxPixels)
	}
	if err := ctx.Err(); err != nil {
		return nil, st, err
	}
	if err := d.enter(); err != nil {
		return nil, st, err
	}
	defer d.wg.Done()

	t := time.Now()
	pix, stride, bpp := pixels(img)
	st.Convert = time.Since(t)

	wk, release, err := d.acquire(ctx, &st)
	if err != nil {
		return nil, st, err
	}
	defer release()

	t = time.Now()
	if err := wk.SetImage(pix, w, h, stride, bpp); err != nil {
		return nil, st, wrapDlib(err)
	}
	defer wk.ClearImage()
	st.Convert += time.Since(t)
	faces, err := d.runScan(ctx, wk, image.Pt(w, h), image.Pt(w, h), b.Min, &st, cropRetry)
	return faces, st, err
}

// acquire waits for a free worker; release gives it back.
func (d *Dlib) acquire(ctx context.Context, st *Stats) (wk *dlib.Worker, release func(), err error) {
	t := time.Now()
	select {
	case wk = <-d.free:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-d.done:
		return nil, nil, ErrClosed
	}
	st.Wait = time.Since(t)
	release = func() { d.free <- wk }
	if err := ctx.Err(); err != nil {
		release()
		return nil, nil, err
	}
	return wk, release, nil
}

// run detects and describes the faces of the image the worker holds, a
// size copy of a full-size image (smaller when a JPEG was decoded scaled).
// Faces are returned in full-resolution coordinates offset by origin.
func (d *Dlib) run(ctx context.Context, wk *dlib.Worker, size, full, origin image.Point, st *Stats) ([]Face, error) {
	return d.runScan(ctx, wk, size, full, origin, st, true)
}

// runScan is run; cropRetry false skips detect's crop retry.
func (d *Dlib) runScan(ctx context.Context, wk *dlib.Worker, size, full, origin image.Point, st *Stats, cropRetry bool) ([]Face, error) {
	w, h := size.X, size.Y
	// fx, fy map the worker's image to full resolution.
	fx, fy := float64(full.X)/float64(w), float64(full.Y)/float64(h)
	scale, levels, minFace := d.scale(full.X, full.Y)
	st.MinFace = minFace
	// Scale stays relative to full resolution; the worker's image is
	// resized by scale*fx.
	st.Scale = scale
	rs := scale * fx
	if rs > 0.98 && rs < 1.02 {
		rs = 1
	}
	if size != full {
		// Decoded scaled: the worker's image is not on the pyramid's grid.
		levels = 0
	}
	t := time.Now()
	dets, err := d.detectScan(ctx, wk, w, h, rs, levels, st, cropRetry)
	st.Detect = time.Since(t)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(dets) == 0 {
		return []Face{}, nil
	}
	sort.Slice(dets, func(i, j int) bool {
		a, b := dets[i].Rect.Min, dets[j].Rect.Min
		if a.Y != b.Y {
			return a.Y < b.Y
		}
		return a.X < b.X
	})

	t = time.Now()
	rects := make([]image.Rectangle, len(dets))
	for i := range dets {
		rects[i] = dets[i].Rect
	}
	descs, err := wk.Describe(rects, d.cfg.ChipPadding, d.cfg.Jitter)
	st.Describe = time.Since(t)
	if err != nil {
		return nil, wrapDlib(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	scaled := w != full.X || h != full.Y
	up := func(p image.Point) image.Point {
		if scaled {
			p = image.Pt(int(math.Round(float64(p.X)*fx)), int(math.Round(float64(p.Y)*fy)))
		}
		return p.Add(origin)
	}
	faces := make([]Face, len(dets))
	for i, det := range dets {
		f := &faces[i]
		f.Box = image.Rectangle{Min: up(det.Rect.Min), Max: up(det.Rect.Max)}
		f.Landmarks = make([]image.Point, len(descs[i].Landmarks))
		for j, p := range descs[i].Landmarks {
			f.Landmarks[j] = up(p)
		}
		f.Descriptor = Descriptor(append([]float32(nil), descs[i].Descriptor[:]...))
		f.Quality = Quality{
			Size:      max(f.Box.Dx(), f.Box.Dy()),
			Sharpness: descs[i].Sharpness,
			Score:     det.Score,
		}
		if det.Pose >= 0 && det.Pose < len(poses) {
			f.Quality.Pose = poses[det.Pose]
		}
	}
	return faces, nil
}

// detect scans the worker's image. When nothing is found in a small image
// (a face crop, where the face may touch the edges or fill the frame) and
// NoCropRetry is off, it tries again with a wide border, then upsampled.
func (d *Dlib) detect(ctx context.Context, wk *dlib.Worker, w, h int, scale float64, levels int, st *Stats) ([]dlib.Detection, error) {
	return d.detectScan(ctx, wk, w, h, scale, levels, st, true)
}

// detectScan is detect; cropRetry false skips the crop retry whatever the
// image's size.
func (d *Dlib) detectScan(ctx context.Context, wk *dlib.Worker, w, h int, scale float64, levels int, st *Stats, cropRetry bool) ([]dlib.Detection, error) {
	opts := dlib.DetectOptions{
		CNN: d.cfg.Detector == CNN, Scale: scale, Levels: levels,
		Adjust: d.cfg.AdjustThreshold, Max: d.cfg.MaxFaces,
	}
	pad := func(f float64) int {
		return int(math.Round(f * math.Min(float64(w)*opts.Scale, float64(h)*opts.Scale)))
	}
	opts.Pad = pad(d.cfg.Padding)
	tries := []func(){nil}
	if cropRetry && !d.cfg.NoCropRetry && max(w, h) <= maxCropSide {
		tries = append(tries,
			func() { opts.Pad = pad(cropPadding) },
			func() { opts.Scale, opts.Levels, opts.Pad = math.Max(2, scale), 0, pad(d.cfg.Padding) })
	}
	for _, try := range tries {
		if try != nil {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			try()
			st.Retries++
		}
		dets, n, scanned, err := wk.Detect(opts)
		st.Scanned, st.Detections = scanned, n
		if err != nil {
			return nil, wrapDlib(err)
		}
		if n > d.cfg.MaxFaces {
			return nil, fmt.Errorf("%w: %d faces, MaxFaces is %d", ErrTooManyFaces, n, d.cfg.MaxFaces)
		}
		if n > 0 {
			return dets, nil
		}
	}
	return nil, nil
}

// enter registers a call in flight, or returns ErrClosed.
func (d *Dlib) enter() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.wg.Add(1)
	return nil
}

// pyramidRate is the scale between two levels of the HOG detector's image
// pyramid (dlib's pyramid_down<6>).
const pyramidRate = 5.0 / 6

// scale returns the factor to resize a w x h image by before scanning, the
// number of pyramid steps that factor is (0 when it is not a downscale on
// the pyramid's grid), and the smallest face (full-resolution side) that
// scan finds.
//
// A HOG downscale is snapped to the pyramid's grid: the largest (5/6)^k
// that still gives a face of MinFaceSize the native size, reached by k
// steps of the pyramid itself. The levels scanned are then the levels of
// a full-size scan's pyramid, so boxes (which seed the landmarks, hence
// the descriptors) fall where a full-size scan puts them; an arbitrary
// scale such as 80/120 puts every level between two of the full-size
// scan's and moves boxes by a few pixels.
func (d *Dlib) scale(w, h int) (float64, int, int) {
	s := float64(d.native) / float64(d.cfg.MinFaceSize)
	levels := 0
	if s < 1 && d.cfg.Detector == HOG {
		levels = int(math.Floor(math.Log(s)/math.Log(pyramidRate) + 1e-9))
		s = math.Pow(pyramidRate, float64(levels))
	}
	if s > 1 && d.cfg.MaxUpsamplePixels > 0 {
		px := float64(w) * float64(h)
		s = math.Max(1, math.Min(s, math.Sqrt(float64(d.cfg.MaxUpsamplePixels)/px)))
	}
	if s > 0.98 && s < 1.02 {
		s = 1
	}
	return s, levels, int(math.Ceil(float64(d.native) / s))
}

// pixels returns img's pixels in a layout dlib.Worker.SetImage accepts,
// converting only when needed. Alpha is ignored (transparent pixels of an
// *image.RGBA are black).
func pixels(img image.Image) (pix []byte, stride, bpp int) {
	switch m := img.(type) {
	case *image.NRGBA:
		return m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Stride, 4
	case *image.RGBA:
		return m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.Stride, 4
	}
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	return dst.Pix, dst.Stride, 4
}
