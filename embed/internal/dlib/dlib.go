// Package dlib is faceoptout's cgo boundary: a small C interface over the
// system libdlib (Debian's libdlib-dev) for HOG and CNN face detection,
// 5-point landmarks and 128-D ResNet descriptors.
//
// A Worker owns its own copies of every model and one image; it is not safe
// for concurrent use. The embed package keeps a pool of Workers.
//
// Every C++ entry point catches all exceptions and returns them as *Error.
package dlib

// #cgo CXXFLAGS: -std=c++17 -O3 -DNDEBUG -Wall
// #cgo LDFLAGS: -ldlib -lpthread -lblas -llapack -lpng -ljpeg -lz
// #include <stdlib.h>
// #include "facedlib.h"
import "C"

import (
	"fmt"
	"image"
	"unsafe"
)

// Kind says what went wrong in an *Error.
type Kind int

const (
	// Other is any failure inside dlib.
	Other Kind = iota
	// Model means a model file was missing, unreadable or corrupt.
	Model
	// Alloc means an allocation failed.
	Alloc
)

// Error is a C++ exception turned into a Go error.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func takeError(p *C.char, kind Kind) error {
	if p == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(p))
	return &Error{Kind: kind, Msg: C.GoString(p)}
}

// Worker holds one copy of the models and the image being processed.
type Worker struct {
	p *C.fo_worker
}

// Load reads the models from dir; the CNN detector only when cnn is true.
func Load(dir string, cnn bool) (*Worker, error) {
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	var p *C.fo_worker
	var code C.int
	c := C.int(0)
	if cnn {
		c = 1
	}
	if msg := C.fo_worker_new(cdir, c, &p, &code); msg != nil {
		kind := Other
		switch code {
		case C.FO_ERR_MODEL:
			kind = Model
		case C.FO_ERR_ALLOC:
			kind = Alloc
		}
		return nil, takeError(msg, kind)
	}
	return &Worker{p: p}, nil
}

// Clone returns a deep copy of w's models (no image).
func (w *Worker) Clone() (*Worker, error) {
	var p *C.fo_worker
	if err := takeError(C.fo_worker_clone(w.p, &p), Other); err != nil {
		return nil, err
	}
	return &Worker{p: p}, nil
}

// Free releases the C++ memory; w must not be used afterwards. Calling
// Free twice is harmless.
func (w *Worker) Free() {
	if w.p != nil {
		C.fo_worker_free(w.p)
		w.p = nil
	}
}

// SetImage copies pix (rows of stride bytes, bpp bytes per pixel: 3 for
// RGB, 4 for RGBA/NRGBA with the alpha ignored) into the worker.
func (w *Worker) SetImage(pix []byte, width, height, stride, bpp int) error {
	if width <= 0 || height <= 0 {
		C.fo_clear_image(w.p)
		return nil
	}
	if bpp != 3 && bpp != 4 {
		return &Error{Msg: fmt.Sprintf("set image: %d bytes per pixel", bpp)}
	}
	if stride < width*bpp || len(pix) < (height-1)*stride+width*bpp {
		return &Error{Msg: "set image: pixel buffer too short"}
	}
	return takeError(C.fo_set_image(w.p, (*C.uint8_t)(unsafe.Pointer(&pix[0])),
		C.int(width), C.int(height), C.int(stride), C.int(bpp)), Other)
}

// ClearImage frees the worker's copy of the image.
func (w *Worker) ClearImage() { C.fo_clear_image(w.p) }

// Detection is one detected face in full-resolution coordinates.
type Detection struct {
	// Rect has an exclusive Max, like every image.Rectangle.
	Rect  image.Rectangle
	Score float64
	// Pose is the HOG sub-detector index (0 frontal, 1 left, 2 right,
	// 3 frontal rotated left, 4 frontal rotated right), -1 for the CNN.
	Pose int
}

// DetectOptions says how to scan the image.
type DetectOptions struct {
	CNN bool
	// Scale resizes the image before scanning (1: as is).
	Scale float64
	// Pad adds a border of Pad pixels (at the scanned scale) that repeats
	// the image's edges.
	Pad int
	// Adjust is added to the detector's threshold (negative finds more).
	Adjust float64
	// Max is the largest number of detections returned.
	Max int
}

// Detect finds faces in the worker's image. It returns the detections (at
// most opts.Max), the total number found and the size of the image scanned.
func (w *Worker) Detect(opts DetectOptions) ([]Detection, int, image.Point, error) {
	if opts.Max <= 0 {
		opts.Max = 1
	}
	buf := make([]C.fo_det, opts.Max)
	var n, dw, dh C.int
	cnn := C.int(0)
	if opts.CNN {
		cnn = 1
	}
	if err := takeError(C.fo_detect(w.p, cnn, C.double(opts.Scale), C.int(opts.Pad), C.double(opts.Adjust),
		&buf[0], C.int(len(buf)), &n, &dw, &dh), Other); err != nil {
		return nil, 0, image.Point{}, err
	}
	k := min(int(n), len(buf))
	dets := make([]Detection, k)
	for i := range dets {
		d := &buf[i]
		dets[i] = Detection{
			Rect:  image.Rect(int(d.left), int(d.top), int(d.right)+1, int(d.bottom)+1),
			Score: float64(d.score),
			Pose:  int(d.pose),
		}
	}
	return dets, int(n), image.Pt(int(dw), int(dh)), nil
}

// Description is the shape, descriptor and sharpness of one face.
type Description struct {
	Landmarks  [5]image.Point
	Descriptor [128]float32
	Sharpness  float64
}

// Describe computes the landmarks, descriptor (the mean over jitter
// jittered copies when jitter > 0) and chip sharpness of each rectangle on
// the full-resolution image.
func (w *Worker) Describe(rects []image.Rectangle, chipPadding float64, jitter int) ([]Description, error) {
	if len(rects) == 0 {
		return nil, nil
	}
	in := make([]C.fo_det, len(rects))
	for i, r := range rects {
		in[i] = C.fo_det{left: C.long(r.Min.X), top: C.long(r.Min.Y), right: C.long(r.Max.X - 1), bottom: C.long(r.Max.Y - 1)}
	}
	out := make([]C.fo_desc, len(rects))
	if err := takeError(C.fo_describe(w.p, &in[0], C.int(len(in)), C.double(chipPadding), C.int(jitter), &out[0]), Other); err != nil {
		return nil, err
	}
	res := make([]Description, len(rects))
	for i := range out {
		o := &out[i]
		for p := 0; p < 5; p++ {
			res[i].Landmarks[p] = image.Pt(int(o.parts[2*p]), int(o.parts[2*p+1]))
		}
		for j := range res[i].Descriptor {
			res[i].Descriptor[j] = float32(o.descriptor[j])
		}
		res[i].Sharpness = float64(o.sharpness)
	}
	return res, nil
}
