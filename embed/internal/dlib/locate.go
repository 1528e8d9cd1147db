package dlib

// #include <stdlib.h>
// #include "facedlib.h"
import "C"

import (
	"fmt"
	"image"
	"unsafe"
)

// LoadHOG returns a worker that holds only the HOG detectors: it reads no
// model file, detects like a Load worker and has no landmarks or
// descriptors (Describe must not be called on it).
func LoadHOG() (*Worker, error) {
	var p *C.fo_worker
	if err := takeError(C.fo_worker_new_hog(&p), Other); err != nil {
		return nil, err
	}
	return &Worker{p: p}, nil
}

// ImageSize returns the size of the worker's image (zero without one).
func (w *Worker) ImageSize() image.Point {
	var iw, ih C.int
	C.fo_image_size(w.p, &iw, &ih)
	return image.Pt(int(iw), int(ih))
}

// maxRegionPixels bounds one Region copy.
const maxRegionPixels = 1 << 26

// Region copies the pixels of r of the worker's image as packed RGB
// (3*r.Dx()*r.Dy() bytes, rows top to bottom); pixels of r outside the
// image are black.
func (w *Worker) Region(r image.Rectangle) ([]byte, error) {
	dx, dy := r.Dx(), r.Dy()
	if dx <= 0 || dy <= 0 {
		return nil, &Error{Msg: fmt.Sprintf("region: empty rectangle %v", r)}
	}
	if int64(dx)*int64(dy) > maxRegionPixels {
		return nil, &Error{Kind: Alloc, Msg: fmt.Sprintf("region: %v is too large", r)}
	}
	out := make([]byte, 3*dx*dy)
	if err := takeError(C.fo_copy_region(w.p, C.long(r.Min.X), C.long(r.Min.Y), C.long(dx), C.long(dy),
		(*C.uint8_t)(unsafe.Pointer(&out[0]))), Other); err != nil {
		return nil, err
	}
	return out, nil
}

// Shape68 is dlib's 68-point shape predictor. Once loaded it is only read:
// it is safe for concurrent use by several workers, until Free.
type Shape68 struct {
	p *C.fo_shape68
}

// LoadShape68 reads a 68-point shape predictor (dlib's
// shape_predictor_68_face_landmarks.dat) from path. Errors are *Error,
// of kind Model when the file is missing, unreadable or not a 68-point
// predictor.
func LoadShape68(path string) (*Shape68, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var p *C.fo_shape68
	var code C.int
	if msg := C.fo_shape68_new(cpath, &p, &code); msg != nil {
		kind := Other
		switch code {
		case C.FO_ERR_MODEL:
			kind = Model
		case C.FO_ERR_ALLOC:
			kind = Alloc
		}
		return nil, takeError(msg, kind)
	}
	return &Shape68{p: p}, nil
}

// Free releases the predictor; calling it twice is harmless. No call may
// use it meanwhile or afterwards.
func (s *Shape68) Free() {
	if s.p != nil {
		C.fo_shape68_free(s.p)
		s.p = nil
	}
}

// Landmarks68 returns the 68 points (iBUG 300-W order) the predictor
// places in each rectangle of the worker's image.
func (w *Worker) Landmarks68(s *Shape68, rects []image.Rectangle) ([][68]image.Point, error) {
	if len(rects) == 0 {
		return nil, nil
	}
	if s == nil || s.p == nil {
		return nil, &Error{Msg: "landmarks: no predictor"}
	}
	in := make([]C.fo_det, len(rects))
	for i, r := range rects {
		in[i] = C.fo_det{left: C.long(r.Min.X), top: C.long(r.Min.Y), right: C.long(r.Max.X - 1), bottom: C.long(r.Max.Y - 1)}
	}
	out := make([]C.long, 136*len(rects))
	if err := takeError(C.fo_landmarks68(w.p, s.p, &in[0], C.int(len(in)), &out[0]), Other); err != nil {
		return nil, err
	}
	res := make([][68]image.Point, len(rects))
	for i := range res {
		for p := 0; p < 68; p++ {
			res[i][p] = image.Pt(int(out[136*i+2*p]), int(out[136*i+2*p+1]))
		}
	}
	return res, nil
}
