// C interface between Go and dlib. Every function catches all C++
// exceptions; a non-NULL return value is an error message allocated with
// malloc that the caller frees.
#ifndef FACEOPTOUT_FACEDLIB_H
#define FACEOPTOUT_FACEDLIB_H

#include <stdint.h>

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

// fo_worker_new loads the models from dir (the CNN only when load_cnn).
char* fo_worker_new(const char* dir, int load_cnn, fo_worker** out, int* code);
// fo_worker_clone deep-copies src (the nets are not thread-safe).
char* fo_worker_clone(const fo_worker* src, fo_worker** out);
void fo_worker_free(fo_worker* w);

// fo_set_image copies an 8-bit image with bpp bytes per pixel (3: RGB, 4:
// RGBA with alpha ignored) into the worker.
char* fo_set_image(fo_worker* w, const uint8_t* pix, int width, int height, int stride, int bpp);
void fo_clear_image(fo_worker* w);

// fo_detect detects faces on a copy of the image resized by scale and
// padded by pad pixels (at the detection scale) on every side. At most cap
// detections are written to out; *n receives the number found (it may
// exceed cap). det_w, det_h receive the size of the image scanned.
char* fo_detect(fo_worker* w, int cnn, double scale, int pad, double adjust,
	fo_det* out, int cap, int* n, int* det_w, int* det_h);

// fo_describe computes the 5-point shape, descriptor and chip sharpness of
// n detections on the full-resolution image.
char* fo_describe(fo_worker* w, const fo_det* dets, int n, double chip_padding, int jitter, fo_desc* out);

#ifdef __cplusplus
}
#endif

#endif
