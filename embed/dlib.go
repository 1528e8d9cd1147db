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
	// maxCropSide is the longest side of an image CropRetry applies to.
	maxCropSide = 512
	// cropPadding is the border of CropRetry's first retry.
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
	first, err := dlib.Load(cfg.ModelsDir, cfg.Detector == CNN)
	if err != nil {
		return nil, wrapDlib(err)
	}
	d := &Dlib{
		cfg:     cfg,
		native:  hogNativeSize,
		free:    make(chan *dlib.Worker, cfg.Workers),
		done:    make(chan struct{}),
		workers: []*dlib.Worker{first},
	}
	if cfg.Detector == CNN {
		d.native = cnnNativeSize
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

// Stats tells where the time of one Faces call went and how the image was
// scanned.
type Stats struct {
	// Convert is the time spent copying the image into dlib's layout.
	Convert time.Duration `json:"convert"`
	// Wait is the time spent waiting for a free worker.
	Wait time.Duration `json:"wait"`
	// Detect is the time spent resizing and scanning.
	Detect time.Duration `json:"detect"`
	// Describe is the time spent on landmarks, chips and descriptors.
	Describe time.Duration `json:"describe"`
	// Scale is the factor the image was resized by before scanning.
	Scale float64 `json:"scale"`
	// Scanned is the size of the image scanned, padding included.
	Scanned image.Point `json:"scanned"`
	// MinFace is the smallest face side, at full resolution, the scan could
	// find: MinFaceSize, or more when MaxUpsamplePixels capped upsampling.
	MinFace int `json:"min_face"`
	// Detections counts the faces the detector found.
	Detections int `json:"detections"`
	// Retries counts the extra scans of a small image (see CropRetry).
	Retries int `json:"retries,omitempty"`
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

	t = time.Now()
	var wk *dlib.Worker
	select {
	case wk = <-d.free:
	case <-ctx.Done():
		return nil, st, ctx.Err()
	case <-d.done:
		return nil, st, ErrClosed
	}
	defer func() { d.free <- wk }()
	st.Wait = time.Since(t)
	if err := ctx.Err(); err != nil {
		return nil, st, err
	}

	t = time.Now()
	if err := wk.SetImage(pix, w, h, stride, bpp); err != nil {
		return nil, st, wrapDlib(err)
	}
	defer wk.ClearImage()
	st.Convert += time.Since(t)

	scale, minFace := d.scale(w, h)
	st.Scale, st.MinFace = scale, minFace
	t = time.Now()
	dets, err := d.detect(ctx, wk, w, h, scale, &st)
	st.Detect = time.Since(t)
	if err != nil {
		return nil, st, err
	}
	if err := ctx.Err(); err != nil {
		return nil, st, err
	}
	if len(dets) == 0 {
		return []Face{}, st, nil
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
		return nil, st, wrapDlib(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, st, err
	}

	faces := make([]Face, len(dets))
	for i, det := range dets {
		f := &faces[i]
		f.Box = det.Rect.Add(b.Min)
		f.Landmarks = make([]image.Point, len(descs[i].Landmarks))
		for j, p := range descs[i].Landmarks {
			f.Landmarks[j] = p.Add(b.Min)
		}
		f.Descriptor = descs[i].Descriptor
		f.Quality = Quality{
			Size:      max(det.Rect.Dx(), det.Rect.Dy()),
			Sharpness: descs[i].Sharpness,
			Score:     det.Score,
		}
		if det.Pose >= 0 && det.Pose < len(poses) {
			f.Quality.Pose = poses[det.Pose]
		}
	}
	return faces, st, nil
}

// detect scans the worker's image. When nothing is found in a small image
// (a face crop, where the face may touch the edges or fill the frame) and
// CropRetry is on, it tries again with a wide border, then upsampled.
func (d *Dlib) detect(ctx context.Context, wk *dlib.Worker, w, h int, scale float64, st *Stats) ([]dlib.Detection, error) {
	opts := dlib.DetectOptions{
		CNN: d.cfg.Detector == CNN, Scale: scale,
		Adjust: d.cfg.AdjustThreshold, Max: d.cfg.MaxFaces,
	}
	pad := func(f float64) int {
		return int(math.Round(f * math.Min(float64(w)*opts.Scale, float64(h)*opts.Scale)))
	}
	opts.Pad = pad(d.cfg.Padding)
	tries := []func(){nil}
	if d.cfg.CropRetry && max(w, h) <= maxCropSide {
		tries = append(tries,
			func() { opts.Pad = pad(cropPadding) },
			func() { opts.Scale, opts.Pad = math.Max(2, scale), pad(d.cfg.Padding) })
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

// scale returns the factor to resize a w x h image by before scanning, and
// the smallest face (full-resolution side) that scan finds.
func (d *Dlib) scale(w, h int) (float64, int) {
	s := float64(d.native) / float64(d.cfg.MinFaceSize)
	if s > 1 && d.cfg.MaxUpsamplePixels > 0 {
		px := float64(w) * float64(h)
		s = math.Max(1, math.Min(s, math.Sqrt(float64(d.cfg.MaxUpsamplePixels)/px)))
	}
	if s > 0.98 && s < 1.02 {
		s = 1
	}
	return s, int(math.Ceil(float64(d.native) / s))
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

// Largest returns the face with the largest box, or ErrNoFace.
func Largest(faces []Face) (Face, error) {
	if len(faces) == 0 {
		return Face{}, ErrNoFace
	}
	best := 0
	for i := range faces {
		if faces[i].Quality.Size > faces[best].Quality.Size {
			best = i
		}
	}
	return faces[best], nil
}
