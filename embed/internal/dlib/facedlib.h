// C interface between Go and dlib. Every function catches all C++
// exceptions; a non-NULL return value is an error message allocated with
// malloc that the caller frees.
#ifndef FACEOPTOUT_FACEDLIB_H
#define FACEOPTOUT_FACEDLIB_H

#include <stddef.h>
#include <stdint.h>

#include "jpegdec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fo_worker fo_worker;

// Error codes stored in *code by functions that report one.
enum { FO_ERR_OTHER = 1, FO_ERR_MODEL = 2, FO_ERR_ALLOC = 3 };

// A detection in full-resolution image coordinates (inclusive corners).
typedef struct {
	long left, top, right, bottom;
	double score;
	int pose; // HOG sub-detector index; -1 for the CNN
} fo_det;

// The shape, descriptor and sharpness of one face.
typedef struct {
	long parts[10]; // five points: x0, y0, x1, y1, ...
	float descriptor[128];
	double sharpness;
} fo_desc;

// fo_have_avx2 returns 1 when fo_detect's HOG scan runs the AVX2 build.
int fo_have_avx2(void);

// fo_worker_new loads the models from dir (the CNN only when load_cnn).
char* fo_worker_new(const char* dir, int load_cnn, fo_worker** out, int* code);
// fo_worker_clone deep-copies src (the nets are not thread-safe).
char* fo_worker_clone(const fo_worker* src, fo_worker** out);
void fo_worker_free(fo_worker* w);

// fo_shrink_image writes the worker's image shrunk by the integer factor k
// into out (out_w x out_h opaque RGBA pixels, out_w = ceil(width/k),
// out_h = ceil(height/k)): each pixel the rounded mean of its k x k block,
// edge blocks averaging the pixels they have (imageutil.Shrink's pixels).
char* fo_shrink_image(const fo_worker* w, long k, uint8_t* out, long out_w, long out_h);

// fo_set_image copies an 8-bit image with bpp bytes per pixel (3: RGB, 4:
// RGBA with alpha ignored) into the worker.
char* fo_set_image(fo_worker* w, const uint8_t* pix, int width, int height, int stride, int bpp);
void fo_clear_image(fo_worker* w);

// fo_set_jpeg decodes a JPEG into the worker, scaled by scale_num/8 in the
// DCT domain, then applies the EXIF orientation (1 to 8). *out_w and
// *out_h receive the size of the oriented, scaled image. On error the
// worker holds no image. See jpegdec.h for the limits.
char* fo_set_jpeg(fo_worker* w, const uint8_t* data, size_t len, int scale_num, long max_memory,
	int max_scans, int orientation, int* out_w, int* out_h);

// fo_bilinear_rgb is the HOG pyramid's resize (scan.h's bilinear_rgb) of
// the portable build, or of the AVX2 one when avx2 is set and the CPU runs
// it: inr x inc packed RGB pixels at in to onr x onc at out; -1 if it
// failed (out of memory). For tests.
int fo_bilinear_rgb(const uint8_t* in, long inr, long inc, uint8_t* out, long onr, long onc, int avx2);

// fo_fhog_orientation is the AVX2 build's orientation bin (fhog.h) of the
// integer gradient (gx, gy); -1 without AVX2, outside [-255, 255]^2, or
// when the table could not be built.
int fo_fhog_orientation(int gx, int gy);

// fo_check_fhog compares the AVX2 build's FHOG features (fhog.h) of the
// w x h packed RGB image rgb with dlib's extract_fhog_features, and its
// gradients (fhog_grad.h) with dlib's rule: *differ values of *total
// differ in some bit. For tests; an error without AVX2.
char* fo_check_fhog(const uint8_t* rgb, long w, long h, long* differ, long* total);

// fo_fhog computes the AVX2 build's FHOG features of the w x h packed RGB
// image rgb n times, with fhog.h or (dlib_impl) dlib's
// extract_fhog_features. For benchmarks; an error without AVX2.
char* fo_fhog(const uint8_t* rgb, long w, long h, int dlib_impl, int n);

// fo_detect detects faces on a copy of the image reduced by levels steps
// of the HOG pyramid (levels > 0) or else resized by scale, and padded by
// pad pixels (at the detection scale) on every side. At most cap
// detections are written to out; *n receives the number found (it may
// exceed cap). det_w, det_h receive the size of the image scanned.
//
// The HOG scan uses the AVX2 build (hog_avx2.cc) when the CPU has AVX2 and
// FMA, unless portable or dlib_pyramid is set; dlib_pyramid scans with
// dlib's own pyramid resize (for tests) instead of the fast one. The AVX2
// build applies the detector's filters with its fused code (filters.h)
// unless dlib_filters is set (for tests: the results are the same).
char* fo_detect(fo_worker* w, int cnn, int portable, int dlib_pyramid, int dlib_filters, double scale, int levels,
	int pad, double adjust, fo_det* out, int cap, int* n, int* det_w, int* det_h);

// fo_describe computes the 5-point shape, descriptor and chip sharpness of
// n detections on the full-resolution image.
char* fo_describe(fo_worker* w, const fo_det* dets, int n, double chip_padding, int jitter, fo_desc* out);

// ---- detection without descriptors (embed.Locator, embed/onnx) ----

// fo_worker_new_hog makes a worker that holds only the HOG detectors: no
// model file is read; fo_describe must not be called on it.
char* fo_worker_new_hog(fo_worker** out);

// fo_image_size reports the size of the worker's image (0 x 0 without one).
void fo_image_size(const fo_worker* w, int* width, int* height);

// fo_copy_region copies the w x h pixels of the worker's image whose top
// left corner is (x, y) into out (packed RGB, 3*w*h bytes); pixels outside
// the image are black.
char* fo_copy_region(const fo_worker* w, long x, long y, long width, long height, uint8_t* out);

typedef struct fo_shape68 fo_shape68;

// fo_shape68_new loads a 68-point shape predictor (dlib's
// shape_predictor_68_face_landmarks.dat) from path. It is read-only once
// loaded and may be used by several workers at once.
char* fo_shape68_new(const char* path, fo_shape68** out, int* code);
void fo_shape68_free(fo_shape68* sp);

// fo_landmarks68 runs the 68-point predictor on n boxes of the worker's
// image; out receives 136 values per box (x0, y0, x1, y1, ...).
char* fo_landmarks68(const fo_worker* w, const fo_shape68* sp, const fo_det* dets, int n, long* out);

#ifdef __cplusplus
}
#endif

#endif
