package onnx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/internal/dlib"
)

// Embedder finds faces with dlib's HOG detector (embed.Locator: the boxes
// of embed.Dlib with the same detection settings), places five landmarks,
// aligns each face to the model's template with a least-squares
// similarity transform, describes it with an ONNX model and
// L2-normalises the descriptor. It implements embed.Embedder; all its
// methods are safe for concurrent use, and at most Detection.Workers
// images are processed at once.
type Embedder struct {
	cfg   Config
	model embed.Model
	loc   *embed.Locator
	shape *dlib.Shape68     // Dlib68 and Mean68 only; read-only, shared by the workers
	pool  chan *sessionPair // idle sessions, one per worker

	mu     sync.Mutex // guards closed and all
	closed bool
	all    []*sessionPair // every session pair, destroyed once by Close
}

var _ embed.Embedder = (*Embedder)(nil)

// sessionPair is one worker's model sessions.
type sessionPair struct {
	feature  *session
	landmark *session // ONNX68 and Mean68 only
}

func (p *sessionPair) destroy() {
	p.feature.destroy()
	p.landmark.destroy()
}

// resolve makes a relative path relative to dir.
func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// New validates cfg, checks the files against their pins, loads the ONNX
// Runtime library (once per process), Detection.Workers sessions of the
// model(s) and the detector. Errors wrap ErrConfig, ErrLibrary, ErrModel or
// ErrRuntime.
func New(cfg Config) (*Embedder, error) {
	cfg.Detection = cfg.Detection.WithDefaults() // Workers 0: one session per CPU, as the Locator's workers
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	lib := resolve(cfg.ModelsDir, cfg.Library)
	if _, err := checkFile(ErrLibrary, lib, cfg.LibrarySHA256); err != nil {
		return nil, err
	}
	modelPath := resolve(cfg.ModelsDir, cfg.Model.File)
	modelSum, err := checkFile(ErrModel, modelPath, cfg.Model.SHA256)
	if err != nil {
		return nil, err
	}
	var shapePath, shapeSum, lmPath, lmSum string
	if cfg.Landmarks.dlib68() {
		shapePath = cfg.Shape68File
		if shapeSum, err = checkFile(ErrModel, shapePath, ""); err != nil {
			return nil, err
		}
	}
	if cfg.Landmarks.onnx68() {
		lmPath = resolve(cfg.ModelsDir, cfg.LandmarkModel.File)
		if lmSum, err = checkFile(ErrModel, lmPath, cfg.LandmarkModel.SHA256); err != nil {
			return nil, err
		}
	}
	if err := loadRuntime(lib); err != nil {
		return nil, err
	}
	e := &Embedder{cfg: cfg, model: modelOf(cfg, modelSum, shapeSum, lmSum)}
	ok := false
	defer func() {
		if !ok {
			e.free()
		}
	}()
	n := cfg.Detection.Workers
	e.pool = make(chan *sessionPair, n)
	m := cfg.Model
	for range n {
		p := &sessionPair{}
		e.all = append(e.all, p)
		if p.feature, err = newSession(modelPath, m.Input, m.Output,
			ort.NewShape(1, 3, int64(m.Size), int64(m.Size)), m.Dim, cfg.Threads, m.Optimization); err != nil {
			return nil, err
		}
		if err := p.feature.run(); err != nil {
			return nil, fmt.Errorf("%w: %s does not take 1x3x%dx%d and give 1x%d: %v", ErrModel, modelPath, m.Size, m.Size, m.Dim, err)
		}
		if cfg.Landmarks.onnx68() {
			l := cfg.LandmarkModel
			if p.landmark, err = newSession(lmPath, l.Input, l.Output,
				ort.NewShape(1, 1, int64(l.Size), int64(l.Size)), 136, cfg.Threads, l.Optimization); err != nil {
				return nil, err
			}
			if err := p.landmark.run(); err != nil {
				return nil, fmt.Errorf("%w: %s does not take 1x1x%dx%d and give 1x136: %v", ErrModel, lmPath, l.Size, l.Size, err)
			}
		}
		e.pool <- p
	}
	if cfg.Landmarks.dlib68() {
		if e.shape, err = dlib.LoadShape68(shapePath); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrModel, err)
		}
	}
	if e.loc, err = embed.NewLocator(cfg.Detection); err != nil {
		return nil, err
	}
	ok = true
	return e, nil
}

// modelOf is the Model an Embedder of cfg describes faces with: its ID is
// the SHA-256 of the weights' SHA-256 and of everything that changes the
// descriptors (the model's description, the template, the landmarker and
// its files' SHA-256s).
func modelOf(cfg Config, modelSum, shapeSum, lmSum string) embed.Model {
	m := cfg.Model
	var b strings.Builder
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	fmt.Fprintf(&b, "onnx-arcface-v1\nweights %s\ninput %s %dx%d\noutput %s %d\n", modelSum, m.Input, m.Size, m.Size, m.Output, m.Dim)
	order := "rgb"
	if m.BGR {
		order = "bgr"
	}
	fmt.Fprintf(&b, "channels %s\n", order)
	for i := range 3 {
		fmt.Fprintf(&b, "norm %s %s\n", f(float64(m.Mean[i])), f(float64(m.Scale[i])))
	}
	for _, p := range m.Template {
		fmt.Fprintf(&b, "template %s %s\n", f(p[0]), f(p[1]))
	}
	if m.Flip {
		fmt.Fprintf(&b, "flip-sum\n")
	}
	switch cfg.Landmarks {
	case Dlib68:
		fmt.Fprintf(&b, "align similarity-lsq bilinear\nlandmarks %s %s\n", cfg.Landmarks, shapeSum)
	case ONNX68:
		fmt.Fprintf(&b, "align similarity-lsq bilinear\nlandmarks %s %s\n", cfg.Landmarks, lmSum)
	default:
		fmt.Fprintf(&b, "align similarity-lsq bilinear\nlandmarks %s %s %s\n", cfg.Landmarks, shapeSum, lmSum)
	}
	if !cfg.NoAntialias {
		fmt.Fprintf(&b, "antialias area-samples-4\n")
	}
	switch {
	case cfg.EyesNose:
		fmt.Fprintf(&b, "align-points eyes-nose\n")
	case cfg.mouthWeighted():
		fmt.Fprintf(&b, "align-mouth-weight %s\n", f(cfg.MouthWeight))
	}
	if cfg.RobustScale > 0 {
		fmt.Fprintf(&b, "align-robust cauchy %s\n", f(cfg.RobustScale))
	}
	if cfg.EdgeFill {
		fmt.Fprintf(&b, "edge-fill nearest\n")
	}
	if cfg.FivePoints != FiveCentres {
		fmt.Fprintf(&b, "five-points %s\n", cfg.FivePoints)
	}
	if cfg.Landmarks.onnx68() {
		l := cfg.LandmarkModel
		fmt.Fprintf(&b, "landmark-model %s %s %d\n", l.Input, l.Output, l.Size)
		if l.Crop != (LandmarkCrop{}) {
			fmt.Fprintf(&b, "landmark-crop %s %s %s\n", f(l.Crop.Scale), f(l.Crop.OffsetX), f(l.Crop.OffsetY))
		}
		if l.Refine > 0 {
			r := l.refineLayout()
			fmt.Fprintf(&b, "landmark-refine %d %s %s %s\n", l.Refine, f(r.CentreX), f(r.CentreY), f(r.Spread))
		}
	}
	fmt.Fprintf(&b, "l2-normalised\n")
	sum := sha256.Sum256([]byte(b.String()))
	return embed.Model{Name: m.Name, Dim: m.Dim, ID: hex.EncodeToString(sum[:]), Threshold: m.Threshold, WeakReview: m.WeakReview}
}

// Model implements embed.Embedder.
func (e *Embedder) Model() embed.Model { return e.model }

// Config returns the configuration e was made with.
func (e *Embedder) Config() Config { return e.cfg }

// Close waits for the calls in flight, then frees the sessions, the
// predictor and the detector. Later calls return embed.ErrClosed. Close is
// idempotent. The ONNX Runtime library stays loaded (see New).
func (e *Embedder) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	var err error
	if e.loc != nil {
		err = e.loc.Close() // waits for the calls in flight
	}
	e.free()
	return err
}

// free releases the sessions and the predictor (no call may be in flight).
func (e *Embedder) free() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.all {
		p.destroy()
	}
	e.all = nil
	if e.shape != nil {
		e.shape.Free()
		e.shape = nil
	}
}

// Faces returns the faces of img, sorted top to bottom then left to
// right, each with an L2-normalised descriptor of Model().Dim numbers,
// its five alignment points as Landmarks (left eye, right eye, nose tip,
// left and right mouth corner) and Quality as embed.Dlib reports it,
// except Sharpness, measured on the model's chip. An image without faces
// gives an empty slice. Any failure is an error (never a partial
// result). It is safe for concurrent use.
func (e *Embedder) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	faces, _, err := e.FacesWithStats(ctx, img)
	return faces, err
}

// FacesWithStats is Faces that also reports per-stage timings (Describe
// is landmarks, alignment and the model).
func (e *Embedder) FacesWithStats(ctx context.Context, img image.Image) ([]embed.Face, embed.Stats, error) {
	faces := []embed.Face{}
	st, err := e.locator().Locate(ctx, img, func(ctx context.Context, s embed.Scan, found []embed.Located) error {
		var err error
		faces, _, err = e.describe(ctx, s, found, nil)
		return err
	})
	if err != nil {
		return nil, st, err
	}
	return faces, st, nil
}

// FacesBytes is Faces for an encoded image, decoded as embed.Dlib's
// FacesBytes decodes it (see embed.Locator.LocateBytes).
func (e *Embedder) FacesBytes(ctx context.Context, data []byte) ([]embed.Face, error) {
	faces, _, err := e.FacesBytesWithStats(ctx, data)
	return faces, err
}

// FacesBytesWithStats is FacesBytes with per-stage timings.
func (e *Embedder) FacesBytesWithStats(ctx context.Context, data []byte) ([]embed.Face, embed.Stats, error) {
	faces := []embed.Face{}
	st, err := e.locator().LocateBytes(ctx, data, func(ctx context.Context, s embed.Scan, found []embed.Located) error {
		var err error
		faces, _, err = e.describe(ctx, s, found, nil)
		return err
	})
	if err != nil {
		return nil, st, err
	}
	return faces, st, nil
}

// FacesBytesWith is FacesBytes with a look at the decoded image before any
// face is searched, a pixel budget and extra turned scans, exactly as
// embed.Dlib.FacesBytesWith does them (embed.Locator.FacesBytesWith): a
// JPEG is decoded inside the worker. It makes the Embedder an
// exclusion.BytesEmbedder. It is safe for concurrent use.
func (e *Embedder) FacesBytesWith(ctx context.Context, data []byte, opts embed.BytesOptions) (embed.BytesResult, error) {
	return e.locator().FacesBytesWith(ctx, data, opts, func(ctx context.Context, s embed.Scan, found []embed.Located) ([]embed.Face, error) {
		faces, _, err := e.describe(ctx, s, found, nil)
		return faces, err
	})
}

// locator returns the detector; after Close its calls return
// embed.ErrClosed.
func (e *Embedder) locator() *embed.Locator { return e.loc }

// describe runs on a worker (at most Workers at once, so a session pair is
// always free). With aug, extra[i] holds face i's extra descriptors.
func (e *Embedder) describe(ctx context.Context, s embed.Scan, found []embed.Located, aug *Augment) (faces []embed.Face, extra [][]embed.Descriptor, err error) {
	defer func() {
		if r := recover(); r != nil {
			faces, extra, err = nil, nil, fmt.Errorf("%w: panic: %v", ErrRuntime, r)
		}
	}()
	var p *sessionPair
	select {
	case p = <-e.pool:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	defer func() { e.pool <- p }()

	pts, err := e.landmarks(s, found, p)
	if err != nil {
		return nil, nil, err
	}
	faces = make([]embed.Face, len(found))
	if aug != nil {
		extra = make([][]embed.Descriptor, len(found))
	}
	for i := range found {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		f := found[i].Face
		fwd, err := e.align(pts[i])
		if err != nil {
			return nil, nil, fmt.Errorf("face %d at %v: %w", i, f.Box, err)
		}
		desc, chip, err := e.embed(s, fwd, p.feature, false)
		if err != nil {
			return nil, nil, fmt.Errorf("face %d at %v: %w", i, f.Box, err)
		}
		if aug != nil {
			if extra[i], err = e.augment(s, fwd, chip, p.feature, aug); err != nil {
				return nil, nil, fmt.Errorf("face %d at %v: %w", i, f.Box, err)
			}
		}
		f.Descriptor = desc
		f.Quality.Sharpness = laplacianVariance(chip, e.cfg.Model.Size, e.cfg.Model.Size)
		f.Landmarks = make([]image.Point, len(pts[i]))
		for j, q := range pts[i] {
			x, y := s.ToFull(q.X, q.Y)
			f.Landmarks[j] = image.Pt(int(math.Round(x)), int(math.Round(y)))
		}
		faces[i] = f
	}
	return faces, extra, nil
}

// align returns the similarity that maps the face's five points (in the
// worker's image) onto the model's template.
func (e *Embedder) align(pts [5]Point) (Affine, error) {
	var tmpl [5]Point
	for i, p := range e.cfg.Model.Template {
		tmpl[i] = Point{p[0], p[1]}
	}
	n, w := 5, []float64(nil)
	switch {
	case e.cfg.EyesNose:
		n = 3
	case e.cfg.mouthWeighted():
		m := e.cfg.MouthWeight
		w = []float64{1, 1, 1, m, m}
	}
	if e.cfg.RobustScale > 0 {
		return fitSimilarityRobust(pts[:n], tmpl[:n], w, e.cfg.RobustScale)
	}
	return fitSimilarity(pts[:n], tmpl[:n], w)
}

// embed warps the face fwd maps onto the chip, runs the model (mirrored
// left to right when mirror is set) and normalises its output; it returns
// the chip too.
func (e *Embedder) embed(s embed.Scan, fwd Affine, sess *session, mirror bool) (embed.Descriptor, []float32, error) {
	m := &e.cfg.Model
	inv, err := fwd.Invert()
	if err != nil {
		return nil, nil, err
	}
	k := 1
	if !e.cfg.NoAntialias {
		k = areaSamples(inv)
	}
	chip, err := warpFromWorker(s, inv, m.Size, m.Size, k, e.cfg.EdgeFill)
	if err != nil {
		return nil, nil, err
	}
	d, err := e.describeChip(chip, sess, mirror)
	return d, chip, err
}

// describeChip runs the model on chip (mirrored when mirror is set; with
// ModelConfig.Flip, both ways summed) and normalises its output.
func (e *Embedder) describeChip(chip []float32, sess *session, mirror bool) (embed.Descriptor, error) {
	out, err := e.infer(chip, sess, mirror)
	if err != nil {
		return nil, err
	}
	if e.cfg.Model.Flip {
		out = append([]float32(nil), out...)
		flipped, err := e.infer(chip, sess, !mirror)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] += flipped[i]
		}
	}
	var ss float64
	for _, v := range out {
		ss += float64(v) * float64(v)
	}
	norm := math.Sqrt(ss)
	if !(norm > 1e-12) || math.IsInf(norm, 0) {
		return nil, fmt.Errorf("%w: output norm %v", ErrDescriptor, norm)
	}
	d := make(embed.Descriptor, len(out))
	for i, v := range out {
		d[i] = float32(float64(v) / norm)
	}
	return d, nil
}

// infer feeds the chip (mirrored left to right when flip is set) to the
// model and returns its output, which stays valid until the next run.
func (e *Embedder) infer(chip []float32, sess *session, flip bool) ([]float32, error) {
	m := &e.cfg.Model
	in := sess.in.GetData()
	size := m.Size
	n := size * size
	for y := range size {
		for x := range size {
			i, j := y*size+x, y*size+x
			if flip {
				j = y*size + size - 1 - x
			}
			for c := range 3 {
				src := c
				if m.BGR {
					src = 2 - c
				}
				in[c*n+i] = (chip[3*j+src] - m.Mean[c]) * m.Scale[c]
			}
		}
	}
	if err := sess.run(); err != nil {
		return nil, err
	}
	return sess.out.GetData(), nil
}

// maxChipSource bounds the source pixels read for one chip: a face whose
// alignment reads more is refused (ErrAlign).
const maxChipSource = 1 << 24

// warpFromWorker copies the part of the worker's image a chip reads and
// warps it; with edge, the chip's pixels outside the image repeat the
// image's edge (the copy ends only where the image does).
func warpFromWorker(s embed.Scan, inv Affine, ow, oh, k int, edge bool) ([]float32, error) {
	x0, y0, x1, y1 := sourceBounds(inv, ow, oh)
	// Only the pixels inside the image matter: the rest is black.
	x0, y0 = math.Max(x0, 0), math.Max(y0, 0)
	x1, y1 = math.Min(x1, float64(s.Size.X)), math.Min(y1, float64(s.Size.Y))
	if !(x1 > x0 && y1 > y0) {
		return nil, fmt.Errorf("%w: the chip lies outside the image", ErrAlign)
	}
	if (x1-x0)*(y1-y0) > maxChipSource {
		return nil, fmt.Errorf("%w: the chip reads %.0f source pixels", ErrAlign, (x1-x0)*(y1-y0))
	}
	r := image.Rect(int(x0), int(y0), int(x1), int(y1))
	pix, err := s.Worker.Region(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRuntime, err)
	}
	shifted := inv
	shifted[2] -= x0
	shifted[5] -= y0
	return warpArea(pix, r.Dx(), r.Dy(), shifted, ow, oh, k, edge), nil
}

// landmarks returns the five alignment points of each face, in the
// worker's image.
func (e *Embedder) landmarks(s embed.Scan, found []embed.Located, p *sessionPair) ([][5]Point, error) {
	var fromDlib, fromONNX [][5]Point
	if e.cfg.Landmarks.dlib68() {
		rects := make([]image.Rectangle, len(found))
		for i := range found {
			rects[i] = found[i].Rect
		}
		shapes, err := s.Worker.Landmarks68(e.shape, rects)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRuntime, err)
		}
		if len(shapes) != len(found) {
			return nil, fmt.Errorf("%w: %d shapes for %d faces", ErrRuntime, len(shapes), len(found))
		}
		fromDlib = make([][5]Point, len(found))
		for i, sh := range shapes {
			var pts [68]Point
			for j, q := range sh {
				if j < len(pts) {
					pts[j] = Point{float64(q.X), float64(q.Y)}
				}
			}
			fromDlib[i] = fivePoints(&pts, e.cfg.FivePoints)
		}
	}
	if e.cfg.Landmarks.onnx68() {
		fromONNX = make([][5]Point, len(found))
		for i := range found {
			pts, err := e.onnxLandmarks(s, found[i].Rect, p.landmark)
			if err != nil {
				return nil, err
			}
			fromONNX[i] = fivePoints(&pts, e.cfg.FivePoints)
		}
	}
	switch {
	case fromDlib == nil:
		return fromONNX, nil
	case fromONNX == nil:
		return fromDlib, nil
	}
	out := make([][5]Point, len(found))
	for i := range out {
		for j := range out[i] {
			a, b := fromDlib[i][j], fromONNX[i][j]
			out[i][j] = Point{(a.X + b.X) / 2, (a.Y + b.Y) / 2}
		}
	}
	return out, nil
}

// fivePoints reduces 68 iBUG 300-W points to the template's five as rule
// says (see FivePointRule).
func fivePoints(p *[68]Point, rule FivePointRule) [5]Point {
	mean := func(idx ...int) Point {
		var q Point
		for _, i := range idx {
			q.X += p[i].X
			q.Y += p[i].Y
		}
		k := float64(len(idx))
		return Point{q.X / k, q.Y / k}
	}
	if rule == FiveLids {
		return [5]Point{mean(37, 38, 40, 41), mean(43, 44, 46, 47), p[30], mean(48, 60), mean(54, 64)}
	}
	return [5]Point{mean(36, 37, 38, 39, 40, 41), mean(42, 43, 44, 45, 46, 47), p[30], p[48], p[54]}
}

// onnxLandmarks runs the landmark model on the crop LandmarkModel.Crop
// places around the box, then LandmarkModel.Refine times on the crop
// around the previous pass's points (refineCrop).
func (e *Embedder) onnxLandmarks(s embed.Scan, box image.Rectangle, sess *session) ([68]Point, error) {
	var pts [68]Point
	if sess == nil {
		return pts, fmt.Errorf("%w: no landmark session", ErrRuntime)
	}
	l := &e.cfg.LandmarkModel
	var c cropRect
	if l.Crop.Scale == 0 {
		c = boxCrop(box)
	} else {
		w := float64(box.Dx())
		side := l.Crop.Scale * w
		cx := float64(box.Min.X+box.Max.X)/2 + l.Crop.OffsetX*w
		cy := float64(box.Min.Y+box.Max.Y)/2 + l.Crop.OffsetY*w
		c = cropRect{cx - side/2, cy - side/2, side, side}
	}
	pts, err := e.landmarksIn(s, c, box, sess)
	for range l.Refine {
		if err != nil {
			break
		}
		pts, err = e.landmarksIn(s, refineCrop(&pts, l.refineLayout()), box, sess)
	}
	return pts, err
}

// refineLayout is RefineLayout with its default filled in.
func (l *LandmarkModelConfig) refineLayout() PointLayout {
	if l.RefineLayout == (PointLayout{}) {
		return FRLandmarkLayout()
	}
	return l.RefineLayout
}

// cropRect is a crop of the worker's image, in pixels.
type cropRect struct{ x, y, w, h float64 }

// boxCrop is the box itself.
func boxCrop(b image.Rectangle) cropRect {
	return cropRect{float64(b.Min.X), float64(b.Min.Y), float64(b.Dx()), float64(b.Dy())}
}

// refineCrop is the square crop in which pts sit as the layout says:
// their mean at the layout's centre, their RMS distance from it the
// layout's Spread times the side.
func refineCrop(pts *[68]Point, lay PointLayout) cropRect {
	var mx, my float64
	for _, p := range pts {
		mx += p.X
		my += p.Y
	}
	mx, my = mx/68, my/68
	var ss float64
	for _, p := range pts {
		ss += (p.X-mx)*(p.X-mx) + (p.Y-my)*(p.Y-my)
	}
	side := math.Sqrt(ss/68) / lay.Spread
	return cropRect{mx - lay.CentreX*side, my - lay.CentreY*side, side, side}
}

// landmarksIn moves c inside the image (shrinking it to the image when it
// is larger), resizes its grey pixels (bilinear, pixel centres aligned) to
// the model's input, pixel/256, and runs the model; box is for errors.
func (e *Embedder) landmarksIn(s embed.Scan, c cropRect, box image.Rectangle, sess *session) ([68]Point, error) {
	var pts [68]Point
	size := e.cfg.LandmarkModel.Size
	W, H := float64(s.Size.X), float64(s.Size.Y)
	if !finite(c.x, c.y, c.w, c.h) || !(c.w >= 2 && c.h >= 2) {
		return pts, fmt.Errorf("%w: landmark crop %+v of box %v", ErrAlign, c, box)
	}
	if c.w > W {
		c.x, c.w = c.x+(c.w-W)/2, W
	}
	if c.h > H {
		c.y, c.h = c.y+(c.h-H)/2, H
	}
	// Move the crop inside the image, as far as it fits.
	c.x = math.Max(0, math.Min(c.x, W-c.w))
	c.y = math.Max(0, math.Min(c.y, H-c.h))
	r := image.Rect(int(math.Floor(c.x)), int(math.Floor(c.y)), int(math.Ceil(c.x+c.w)), int(math.Ceil(c.y+c.h))).
		Intersect(image.Rect(0, 0, s.Size.X, s.Size.Y))
	if r.Dx() < 2 || r.Dy() < 2 {
		return pts, fmt.Errorf("%w: box %v is outside the image", ErrAlign, box)
	}
	pix, err := s.Worker.Region(r)
	if err != nil {
		return pts, fmt.Errorf("%w: %v", ErrRuntime, err)
	}
	sx, sy := c.w/float64(size), c.h/float64(size)
	// Resize with pixel centres aligned; clamp at the edges.
	inv := Affine{sx, 0, c.x - float64(r.Min.X) + 0.5*sx - 0.5, 0, sy, c.y - float64(r.Min.Y) + 0.5*sy - 0.5}
	rgb := warpClamped(pix, r.Dx(), r.Dy(), inv, size, size)
	in := sess.in.GetData()
	for i := range size * size {
		grey := 0.299*rgb[3*i] + 0.587*rgb[3*i+1] + 0.114*rgb[3*i+2]
		in[i] = grey / 256
	}
	if err := sess.run(); err != nil {
		return pts, err
	}
	out := sess.out.GetData()
	if len(out) != 136 {
		return pts, fmt.Errorf("%w: landmark model gave %d values", ErrRuntime, len(out))
	}
	for i := range pts {
		x, y := float64(out[2*i]), float64(out[2*i+1])
		if !finite(x, y) {
			return pts, fmt.Errorf("%w: landmark %d is not finite", ErrAlign, i)
		}
		pts[i] = Point{c.x + x*c.w, c.y + y*c.h}
	}
	return pts, nil
}

// warpClamped is Warp with source coordinates clamped to the image (the
// edge pixels repeat), for resizing.
func warpClamped(src []byte, w, h int, inv Affine, ow, oh int) []float32 {
	out := make([]float32, 3*ow*oh)
	clamp := func(v, hi float64) float64 { return math.Max(0, math.Min(v, hi)) }
	for v := range oh {
		for u := range ow {
			sx := clamp(inv[0]*float64(u)+inv[1]*float64(v)+inv[2], float64(w-1))
			sy := clamp(inv[3]*float64(u)+inv[4]*float64(v)+inv[5], float64(h-1))
			x0, y0 := int(sx), int(sy)
			x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
			ax, ay := sx-float64(x0), sy-float64(y0)
			for c := range 3 {
				p := func(x, y int) float64 { return float64(src[3*(y*w+x)+c]) }
				top := p(x0, y0)*(1-ax) + p(x1, y0)*ax
				bot := p(x0, y1)*(1-ax) + p(x1, y1)*ax
				out[3*(v*ow+u)+c] = float32(top*(1-ay) + bot*ay)
			}
		}
	}
	return out
}
