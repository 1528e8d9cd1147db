package dlib_test

import (
	"bytes"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/faceoptout/faceoptout/embed/internal/dlib"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// setJPEG loads the worker with the JPEG file f and returns its size.
func setJPEG(t *testing.T, w *dlib.Worker, f string) image.Point {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	size, err := w.SetJPEG(data, testOpts)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(f), err)
	}
	return size
}

// idols loads the worker with each faces/idols photo in turn and calls fn.
func idols(t *testing.T, w *dlib.Worker, fn func(name string)) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(testenv.Faces(t), "idols", "*.jpg"))
	if len(files) < 10 {
		t.Fatalf("want idols photos, found %d", len(files))
	}
	sort.Strings(files)
	for _, f := range files {
		setJPEG(t, w, f)
		fn(filepath.Base(f))
	}
	w.ClearImage()
}

func detect(t *testing.T, w *dlib.Worker, opts dlib.DetectOptions) []dlib.Detection {
	t.Helper()
	opts.Max = 64
	dets, n, _, err := w.Detect(opts)
	if err != nil {
		t.Fatal(err)
	}
	if n > len(dets) {
		t.Fatalf("%d detections, more than %d", n, len(dets))
	}
	return dets
}

// near finds the detection of dets whose corners are within tol pixels of
// d's.
func near(d dlib.Detection, dets []dlib.Detection, tol int) (dlib.Detection, bool) {
	abs := func(v int) int { return max(v, -v) }
	for _, e := range dets {
		a, b := d.Rect, e.Rect
		if abs(a.Min.X-b.Min.X) <= tol && abs(a.Min.Y-b.Min.Y) <= tol &&
			abs(a.Max.X-b.Max.X) <= tol && abs(a.Max.Y-b.Max.Y) <= tol {
			return e, true
		}
	}
	return dlib.Detection{}, false
}

// TestFastPyramidMatchesDlib compares the HOG scan with its fixed-point
// pyramid resize (scan.h) to the same scan with dlib's float resize, on
// every faces/idols photo, resampled and reduced by pyramid levels. The
// pixels differ by at most 1, so scores move by a few hundredths and, where
// two windows or two poses score within that of each other, dlib's
// non-maximum suppression can keep the other one (measured: 4 of 80
// detections, all at the same face). So: the same number of faces; each
// face of dlib's pyramid overlapping one of ours (IoU >= 0.5); and at
// least 90% at the same box (pyramid levels: within 1 pixel, dlib's path
// rounding once per mapping and ours once in all) with the same pose and a
// score within 0.05.
func TestFastPyramidMatchesDlib(t *testing.T) {
	w, err := dlib.Load(testenv.Models(t), false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Free()
	total, same := 0, 0
	worst := 0.0
	idols(t, w, func(name string) {
		for _, o := range []dlib.DetectOptions{{Scale: 2.0 / 3}, {Levels: 2}} {
			tol := 0
			if o.Levels > 0 {
				tol = 1
			}
			o.Portable = true
			fast := detect(t, w, o)
			o.DlibPyramid = true
			ref := detect(t, w, o)
			if len(fast) != len(ref) {
				t.Errorf("%s with %+v: %d faces, dlib's pyramid %d", name, o, len(fast), len(ref))
				continue
			}
			for _, d := range ref {
				total++
				if e, ok := near(d, fast, tol); ok && e.Pose == d.Pose && math.Abs(e.Score-d.Score) <= 0.05 {
					same++
					worst = math.Max(worst, math.Abs(e.Score-d.Score))
					continue
				}
				if !overlaps(d, fast, 0.5) {
					t.Errorf("%s with %+v: dlib's pyramid found %+v, ours only %+v", name, o, d, fast)
				} else {
					t.Logf("%s with %+v: dlib's pyramid found %+v, ours %+v", name, o, d, fast)
				}
			}
		}
	})
	if total == 0 {
		t.Fatal("no face found: the comparison tested nothing")
	}
	t.Logf("%d of %d detections at the same box and pose, scores within %.3f", same, total, worst)
	if same < total*9/10 {
		t.Errorf("%d of %d detections at the same box and pose, want 90%%", same, total)
	}
}

// decodeFile decodes the JPEG file f into packed RGB.
func decodeFile(t *testing.T, f string) (pix []byte, w, h int) {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	pix, w, h, err = dlib.DecodeJPEG(data, testOpts)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(f), err)
	}
	return pix, w, h
}

// TestBilinearAVX2MatchesPortable checks the AVX2 row pass of the pyramid
// resize against the portable one, byte for byte: random images of many
// widths (the four-pixel loop, its stop before the row's end, and widths
// it never runs on), pyramid steps (5/6) and other ratios, and a photo.
func TestBilinearAVX2MatchesPortable(t *testing.T) {
	if !dlib.HaveAVX2() {
		t.Skip("CPU without AVX2+FMA: only the portable build runs")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	type size struct{ w, h, ow, oh int }
	var sizes []size
	for w := 1; w <= 40; w++ {
		h := 1 + rng.IntN(12)
		sizes = append(sizes, size{w, h, max(1, 5*w/6), max(1, 5*h/6)}, size{w, h, 1 + rng.IntN(2*w), 1 + rng.IntN(2*h)})
	}
	sizes = append(sizes, size{641, 37, 534, 30}, size{1000, 9, 833, 7}, size{97, 301, 96, 300})
	for _, sz := range sizes {
		pix := make([]byte, 3*sz.w*sz.h)
		for i := range pix {
			pix[i] = byte(rng.IntN(256))
		}
		// Extremes: runs of 0 and 255 exercise the rounding and saturation.
		for i := 0; i < len(pix)/4; i++ {
			pix[rng.IntN(len(pix))] = byte(255 * rng.IntN(2))
		}
		a := dlib.BilinearRGB(pix, sz.w, sz.h, sz.ow, sz.oh, true)
		b := dlib.BilinearRGB(pix, sz.w, sz.h, sz.ow, sz.oh, false)
		if len(a) != 3*sz.ow*sz.oh || !bytes.Equal(a, b) {
			t.Fatalf("%+v: AVX2 and portable resizes differ", sz)
		}
	}
	files, _ := filepath.Glob(filepath.Join(testenv.Faces(t), "idols", "*.jpg"))
	if len(files) == 0 {
		t.Fatal("no idols photos")
	}
	pix, pw, ph := decodeFile(t, files[0])
	for range 3 {
		ow, oh := 5*pw/6, 5*ph/6
		a := dlib.BilinearRGB(pix, pw, ph, ow, oh, true)
		if !bytes.Equal(a, dlib.BilinearRGB(pix, pw, ph, ow, oh, false)) {
			t.Fatalf("%s at %dx%d: AVX2 and portable resizes differ", filepath.Base(files[0]), ow, oh)
		}
		pix, pw, ph = a, ow, oh
	}
}

// overlaps says whether a detection of dets overlaps d by IoU >= min.
func overlaps(d dlib.Detection, dets []dlib.Detection, min float64) bool {
	for _, e := range dets {
		in := d.Rect.Intersect(e.Rect)
		if in.Empty() {
			continue
		}
		ai := float64(in.Dx() * in.Dy())
		if ai/(float64(d.Rect.Dx()*d.Rect.Dy()+e.Rect.Dx()*e.Rect.Dy())-ai) >= min {
			return true
		}
	}
	return false
}

// TestLevelsMatchFullSize checks the agreement by construction of a scan
// reduced by pyramid levels: its faces at least as large as the smallest
// it is meant to find (80 px times 1.2 per level) are the full-size scan's
// faces, at the same boxes. (Smaller faces are sometimes found, at a box
// of about that smallest size: pristin.jpg's 87-px faces.)
func TestLevelsMatchFullSize(t *testing.T) {
	w, err := dlib.Load(testenv.Models(t), false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Free()
	total := 0
	idols(t, w, func(name string) {
		full := detect(t, w, dlib.DetectOptions{Scale: 1})
		for _, levels := range []int{1, 2, 3} {
			minFace := int(math.Ceil(80 * math.Pow(1.2, float64(levels))))
			for _, d := range detect(t, w, dlib.DetectOptions{Levels: levels}) {
				if max(d.Rect.Dx(), d.Rect.Dy()) < minFace {
					continue
				}
				total++
				if _, ok := near(d, full, 0); !ok {
					t.Errorf("%s at %d levels: %v is none of the full-size boxes %v", name, levels, d.Rect, rects(full))
				}
			}
		}
	})
	if total < 60 {
		t.Fatalf("%d faces compared, want the 30-odd idols faces at each level", total)
	}
}

func rects(dets []dlib.Detection) []image.Rectangle {
	out := make([]image.Rectangle, len(dets))
	for i, d := range dets {
		out[i] = d.Rect
	}
	return out
}
