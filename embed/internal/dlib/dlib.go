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
	// Decode means libjpeg refused the data: corrupt, truncated, an
	// unsupported variant, or beyond the memory or scan bounds.
	Decode
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

// JPEGInfo is what a JPEG header declares.
type JPEGInfo struct {
	Width, Height, Components int
	Progressive               bool
}

// ReadJPEGInfo reads the header of a JPEG with libjpeg, without decoding
// any pixel. Errors are *Error of kind Decode.
func ReadJPEGInfo(data []byte) (JPEGInfo, error) {
	if len(data) == 0 {
		return JPEGInfo{}, &Error{Kind: Decode, Msg: "empty JPEG"}
	}
	var info C.fo_jpeg_info
	if err := takeError(C.fo_jpeg_info_read((*C.uint8_t)(unsafe.Pointer(&data[0])), C.size_t(len(data)), &info), Decode); err != nil {
		return JPEGInfo{}, err
	}
	return JPEGInfo{Width: int(info.width), Height: int(info.height), Components: int(info.components),
		Progressive: info.progressive != 0}, nil
}

// JPEGOptions bound and shape one SetJPEG.
type JPEGOptions struct {
	// ScaleNum scales the image by ScaleNum/8 in the DCT domain (1 to 16;
	// libjpeg-turbo's SIMD paths are 8, 4, 2 and 1).
	ScaleNum int
	// MaxMemory bounds libjpeg's own memory in bytes (0: no bound).
	MaxMemory int64
	// MaxScans bounds the scans of a progressive JPEG.
	MaxScans int
	// Orientation is the EXIF orientation (1 to 8) to apply.
	Orientation int
}

// SetJPEG decodes a JPEG into the worker (scaled, then oriented) and
// returns the size of the worker's image. data is only read during the
// call. libjpeg's errors are *Error of kind Decode; on error the worker
// holds no image.
func (w *Worker) SetJPEG(data []byte, opts JPEGOptions) (image.Point, error) {
	if len(data) == 0 {
		C.fo_clear_image(w.p)
		return image.Point{}, &Error{Kind: Decode, Msg: "empty JPEG"}
	}
	var dw, dh C.int
	msg := C.fo_set_jpeg(w.p, (*C.uint8_t)(unsafe.Pointer(&data[0])), C.size_t(len(data)), C.int(opts.ScaleNum),
		C.long(opts.MaxMemory), C.int(opts.MaxScans), C.int(opts.Orientation), &dw, &dh)
	if err := takeError(msg, Decode); err != nil {
		return image.Point{}, err
	}
	return image.Pt(int(dw), int(dh)), nil
}

// DecodeJPEG decodes a JPEG with the same code as SetJPEG (without
// orientation) into packed RGB, outside any worker: for tests and fuzzing
// of the decoder.
func DecodeJPEG(data []byte, opts JPEGOptions) (pix []byte, width, height int, err error) {
	if len(data) == 0 {
		return nil, 0, 0, &Error{Kind: Decode, Msg: "empty JPEG"}
	}
	var out *C.uint8_t
	var w, h C.int
	msg := C.fo_jpeg_decode_malloc((*C.uint8_t)(unsafe.Pointer(&data[0])), C.size_t(len(data)), C.int(opts.ScaleNum),
		C.long(opts.MaxMemory), C.int(opts.MaxScans), &out, &w, &h)
	if err := takeError(msg, Decode); err != nil {
		return nil, 0, 0, err
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(int(w)*int(h)*3)), int(w), int(h), nil
}

// EncodeJPEG encodes w x h packed RGB pixels with libjpeg (grayscale or
// progressive on request): tests use it for fixtures Go's encoder cannot
// write.
func EncodeJPEG(pix []byte, width, height, quality int, gray, progressive bool) ([]byte, error) {
	if width <= 0 || height <= 0 || len(pix) < width*height*3 {
		return nil, &Error{Msg: "encode: bad image size"}
	}
	b := func(v bool) C.int {
		if v {
			return 1
		}
		return 0
	}
	var out *C.uint8_t
	var n C.ulong
	if err := takeError(C.fo_jpeg_encode((*C.uint8_t)(unsafe.Pointer(&pix[0])), C.int(width), C.int(height),
		b(gray), C.int(quality), b(progressive), &out, &n), Other); err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(n)), nil
}

func cbool(v bool) C.int {
	if v {
		return 1
	}
	return 0
}

// Shrink returns the worker's image shrunk by the integer factor k (k < 1
// means 1): the pixels imageutil.Shrink gives (box means), as an opaque
// NRGBA of ceil(width/k) x ceil(height/k).
func (w *Worker) Shrink(k int) (*image.NRGBA, error) {
	k = max(k, 1)
	sz := w.ImageSize()
	iw, ih := sz.X, sz.Y
	if iw <= 0 || ih <= 0 {
		return nil, &Error{Msg: "shrink: no image"}
	}
	ow, oh := (iw+k-1)/k, (ih+k-1)/k
	m := image.NewNRGBA(image.Rect(0, 0, ow, oh))
	if err := takeError(C.fo_shrink_image(w.p, C.long(k), (*C.uint8_t)(unsafe.Pointer(&m.Pix[0])), C.long(ow), C.long(oh)), Other); err != nil {
		return nil, err
	}
	return m, nil
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
	// Levels, when above 0, replaces Scale: the image is reduced by that
	// many steps of the HOG detector's pyramid (5/6 each, with the
	// pyramid's own resize), so the levels scanned are exactly those of a
	// full-size scan's pyramid; detections are mapped back as dlib maps
	// them up its pyramid.
	Levels int
	// Pad adds a border of Pad pixels (at the scanned scale) that repeats
	// the image's edges.
	Pad int
	// Adjust is added to the detector's threshold (negative finds more).
	Adjust float64
	// Max is the largest number of detections returned.
	Max int
	// Portable runs the HOG scan's portable build even when the CPU runs
	// the AVX2 one (see HaveAVX2).
	Portable bool
	// DlibPyramid runs the portable HOG scan with dlib's own pyramid resize
	// (float bilinear) instead of the fixed-point one: for tests.
	DlibPyramid bool
	// DlibFilters makes the AVX2 build apply the detector's filters with
	// dlib's own code instead of the fused one (filters.h): for tests, the
	// results are the same.
	DlibFilters bool
}

// HaveAVX2 reports whether the HOG scan runs its AVX2+FMA build
// (hog_avx2.cc) on this CPU; otherwise it runs the portable (SSE2) one.
func HaveAVX2() bool { return C.fo_have_avx2() != 0 }

// BilinearRGB resizes the w x h packed RGB image pix to ow x oh with the
// HOG pyramid's resize (scan.h), of the AVX2 build when avx2 is set and
// HaveAVX2, else of the portable one; nil if the resize failed. For tests.
func BilinearRGB(pix []byte, w, h, ow, oh int, avx2 bool) []byte {
	if w <= 0 || h <= 0 || ow <= 0 || oh <= 0 || len(pix) < 3*w*h {
		return nil
	}
	out := make([]byte, 3*ow*oh)
	if C.fo_bilinear_rgb((*C.uint8_t)(unsafe.Pointer(&pix[0])), C.long(h), C.long(w),
		(*C.uint8_t)(unsafe.Pointer(&out[0])), C.long(oh), C.long(ow), cbool(avx2)) != 0 {
		return nil
	}
	return out
}

// FHOGOrientation is the orientation bin (0..17) the AVX2 build's FHOG
// features give the integer gradient (gx, gy) (fhog.h's table); -1
// without AVX2 or outside [-255, 255]. For tests.
func FHOGOrientation(gx, gy int) int { return int(C.fo_fhog_orientation(C.int(gx), C.int(gy))) }

// CheckFHOG computes the FHOG features of the w x h packed RGB image pix
// with the AVX2 build's own code (fhog.h) and with dlib's, and the AVX2
// gradients (fhog_grad.h, which dlib's features compiled there use too)
// at every position with dlib's rule written out, and returns how many of
// the values differ in any bit, of how many. For tests; it needs
// HaveAVX2.
func CheckFHOG(pix []byte, w, h int) (differ, total int, err error) {
	if w <= 0 || h <= 0 || len(pix) < 3*w*h {
		return 0, 0, &Error{Msg: fmt.Sprintf("fhog: %d bytes for %dx%d", len(pix), w, h)}
	}
	var d, n C.long
	if err := takeError(C.fo_check_fhog((*C.uint8_t)(unsafe.Pointer(&pix[0])), C.long(w), C.long(h), &d, &n), Other); err != nil {
		return 0, 0, err
	}
	return int(d), int(n), nil
}

// FHOG computes the FHOG features of the w x h packed RGB image pix n
// times, with the AVX2 build's own code (fhog.h) or, with dlibImpl, with
// dlib's extract_fhog_features compiled beside it. For benchmarks; it
// needs HaveAVX2.
func FHOG(pix []byte, w, h int, dlibImpl bool, n int) error {
	if w <= 0 || h <= 0 || len(pix) < 3*w*h || n < 0 {
		return &Error{Msg: fmt.Sprintf("fhog: %d bytes for %dx%d", len(pix), w, h)}
	}
	impl := C.int(0)
	if dlibImpl {
		impl = 1
	}
	return takeError(C.fo_fhog((*C.uint8_t)(unsafe.Pointer(&pix[0])), C.long(w), C.long(h), impl, C.int(n)), Other)
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
	if opts.Levels < 0 || opts.Levels > 64 {
		return nil, 0, image.Point{}, &Error{Msg: fmt.Sprintf("detect: %d pyramid levels", opts.Levels)}
	}
	if err := takeError(C.fo_detect(w.p, cnn, cbool(opts.Portable), cbool(opts.DlibPyramid), cbool(opts.DlibFilters), C.double(opts.Scale),
		C.int(opts.Levels), C.int(opts.Pad), C.double(opts.Adjust),
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
