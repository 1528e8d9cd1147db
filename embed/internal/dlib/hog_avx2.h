// The HOG face scan built for AVX2+FMA (hog_avx2.cc). Call these only when
// fo_have_avx2() says the CPU has AVX2 and FMA. Every function catches all
// C++ exceptions; a non-NULL char* is an error message allocated with
// malloc that the caller frees.
#ifndef FACEOPTOUT_HOG_AVX2_H
#define FACEOPTOUT_HOG_AVX2_H

#include <stddef.h>
#include <stdint.h>

#include "facedlib.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fo_hog_avx2 fo_hog_avx2;

// fo_hog_avx2_new deserializes dlib's frontal_face_detector from the n
// bytes at ser (as serialize() writes it), with the fast pyramid resize of
// scan.h.
char* fo_hog_avx2_new(const char* ser, size_t n, fo_hog_avx2** out);
void fo_hog_avx2_free(fo_hog_avx2* h);

// fo_hog_avx2_detect scans the w x h packed RGB image rgb, reduced by
// levels pyramid steps (levels > 0) or else resized by scale, and padded
// by pad pixels, for faces. It writes at most cap
// detections in the coordinates of the image scanned (pose: the
// sub-detector) to out and the number found to *n; det_w and det_h receive
// the size of the image scanned. The detector's filters are applied by
// the fused code of filters.h unless dlib_filters is set (dlib's own, for
// tests: the results are the same).
char* fo_hog_avx2_detect(fo_hog_avx2* h, const uint8_t* rgb, long w, long hgt, double scale, int levels, long pad,
	double adjust, int dlib_filters, fo_det* out, int cap, int* n, int* det_w, int* det_h);

// fo_hog_avx2_orientation is fhog.h's orientation bin (0..17) of the
// integer gradient (gx, gy) in [-255, 255]^2; -1 outside. For tests.
int fo_hog_avx2_orientation(int gx, int gy);

// fo_hog_avx2_check_fhog computes the FHOG features of the w x h packed
// RGB image rgb (cell size 8, 10 x 10 filter padding, as the face
// detector) with fhog.h and with dlib's extract_fhog_features, and the
// gradient of fhog_grad.h at every position against dlib's rule written
// out, and counts the values that differ in any bit (*differ) of all
// (*total). For tests.
char* fo_hog_avx2_check_fhog(const uint8_t* rgb, long w, long hgt, long* differ, long* total);

// fo_hog_avx2_fhog computes the FHOG features of the w x h packed RGB
// image rgb n times, with fhog.h or (dlib_impl) with dlib's
// extract_fhog_features, as fo_hog_avx2_check_fhog does. For benchmarks.
char* fo_hog_avx2_fhog(const uint8_t* rgb, long w, long hgt, int dlib_impl, int n);

// fo_hog_avx2_bilinear is scan.h's bilinear_rgb (the pyramid resize) of
// this build, for tests: inr x inc packed RGB pixels at in to onr x onc at
// out.
void fo_hog_avx2_bilinear(const uint8_t* in, long inr, long inc, uint8_t* out, long onr, long onc);

#ifdef __cplusplus
}
#endif

#endif
