// dlib's HOG face scan compiled for AVX2+FMA, chosen at run time.
//
// dlib picks its SIMD code at compile time (DLIB_HAVE_AVX etc., from
// __AVX__), and faceoptout never builds with -march=native: the binary must
// run on any x86-64. This translation unit alone is compiled for AVX2+FMA
// (#pragma GCC target below), and facedlib.cc calls it only when
// __builtin_cpu_supports says the CPU has both.
//
// The hazard is the One Definition Rule: templates and inline functions
// instantiated here and in facedlib.cc under the same name are emitted as
// weak symbols, and the linker keeps one copy, so AVX2 code could end up
// called by the portable path on a CPU without AVX2 (or the reverse,
// silently losing the speed-up). Three measures keep the two builds apart:
//   1. Every standard and intrinsics header is included before the pragma,
//      so the std:: templates and inline functions keep the portable
//      target wherever they are instantiated.
//   2. `dlib` is #defined to `fo_dlib_avx2` before dlib's headers are
//      included, so every dlib template, inline function and type compiled
//      here has a distinct mangled name; nothing of libdlib.so is linked
//      from here (the detector is passed in serialized form).
//   3. Our own helpers (scan.h) live in an anonymous namespace.
// embed/internal/dlib's tests check the object for weak symbols outside
// fo_dlib_avx2 that use AVX registers (TestAVX2Isolation).

#include <bits/stdc++.h>
#include <immintrin.h>
#include <cpuid.h>

#pragma GCC target("avx2,fma")

#define DLIB_HAVE_SSE2
#define DLIB_HAVE_SSE3
#define DLIB_HAVE_SSE41
#define DLIB_HAVE_AVX
#define DLIB_HAVE_AVX2
#define dlib fo_dlib_avx2

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

#include "hog_avx2.h"

// The FHOG gradients loaded with vector shuffles (fhog_grad.h): found by
// argument-dependent lookup from dlib's feature extraction, bit for bit
// dlib's results, about 10% off the scan.
namespace dlib {
#include "fhog_grad.h"
}  // namespace dlib

// dlib's headers reference these (test_for_odr_violations.h); libdlib.so
// defines them in namespace dlib, so the renamed namespace needs its own.
namespace fo_dlib_avx2 {
extern const int USER_ERROR__inconsistent_build_configuration__see_dlib_faq_1_;
extern const int USER_ERROR__inconsistent_build_configuration__see_dlib_faq_2_;
const int USER_ERROR__inconsistent_build_configuration__see_dlib_faq_1_ = 0;
const int USER_ERROR__inconsistent_build_configuration__see_dlib_faq_2_ = 0;
}  // namespace fo_dlib_avx2

using namespace dlib;

namespace {

typedef matrix<rgb_pixel> image_t;

#define FO_SCAN_AVX2 1
#include "scan.h"
#include "fhog.h"
#include "filters.h"

typedef object_detector<scan_fhog_pyramid<fast_pyramid_down6>> detector_t;

}  // namespace

struct fo_hog_avx2 {
	detector_t det;
	// fused runs det with its filters applied by sep_filters (filters.h);
	// use_fused says whether it could read them.
	sep_filters<detector_t, 10> fused;
	bool use_fused = false;
};

namespace {

char* avx_error(const char* prefix, const char* what) {
	std::string s = std::string(prefix) + what;
	char* p = static_cast<char*>(std::malloc(s.size() + 1));
	if (p) std::memcpy(p, s.c_str(), s.size() + 1);
	return p;
}

}  // namespace

extern "C" {

char* fo_hog_avx2_new(const char* ser, size_t n, fo_hog_avx2** out) {
	*out = nullptr;
	try {
		std::unique_ptr<fo_hog_avx2> h(new fo_hog_avx2);
		std::istringstream in(std::string(ser, n));
		deserialize(h->det, in);
		h->use_fused = h->fused.build(h->det);
		*out = h.release();
		return nullptr;
	} catch (std::exception& e) {
		return avx_error("loading the AVX2 HOG detector: ", e.what());
	} catch (...) {
		return avx_error("loading the AVX2 HOG detector: ", "unknown exception");
	}
}

void fo_hog_avx2_free(fo_hog_avx2* h) {
	try {
		delete h;
	} catch (...) {
	}
}

void fo_hog_avx2_bilinear(const uint8_t* in, long inr, long inc, uint8_t* out, long onr, long onc) {
	bilinear_rgb(reinterpret_cast<const rgb_pixel*>(in), inr, inc, inc, reinterpret_cast<rgb_pixel*>(out), onr, onc, onc);
}

int fo_hog_avx2_orientation(int gx, int gy) {
	if (gx < -255 || gx > 255 || gy < -255 || gy > 255) return -1;
	return fhog_orientations::get()(gx, gy);
}

char* fo_hog_avx2_check_fhog(const uint8_t* rgb, long w, long hgt, long* differ, long* total) {
	*differ = 0;
	*total = 0;
	try {
		image_t img;
		copy_image(reinterpret_cast<const rgb_pixel*>(rgb), w, hgt, img);
		fo_dlib_avx2::array<array2d<float>> ours, ref;
		fhog_features(img, ours, 8, 10, 10);
		extract_fhog_features(img, ref, 8, 10, 10);
		if (ours.size() != ref.size())
			return avx_error("fhog: plane counts differ: ",
			                 (std::to_string(ours.size()) + " and dlib's " + std::to_string(ref.size())).c_str());
		for (size_t i = 0; i < ref.size(); ++i) {
			if (ours[i].nr() != ref[i].nr() || ours[i].nc() != ref[i].nc())
				return avx_error("fhog: ", "plane sizes differ");
			for (long r = 0; r < ref[i].nr(); ++r)
				for (long c = 0; c < ref[i].nc(); ++c) {
					++*total;
					if (std::memcmp(&ours[i][r][c], &ref[i][r][c], sizeof(float)) != 0) ++*differ;
				}
		}
		// dlib's extract_fhog_features above calls fhog_grad.h's gradient
		// too (argument-dependent lookup), so the gradient is checked on
		// its own, at every position, against dlib's rule written out:
		// per channel right minus left and below minus above, the channel
		// of the largest squared length, ties to the later channel.
		const const_image_view<image_t> view(img);
		for (long r = 1; r + 1 < hgt; ++r) {
			for (long c = 1; c + 8 < w; ++c) {
				simd8i gx, gy, len;
				fo_gradient8(int(r), int(c), view, gx, gy, len);
				int32 ax[8], ay[8], al[8];
				gx.store(ax);
				gy.store(ay);
				len.store(al);
				for (int k = 0; k < 8; ++k) {
					const rgb_pixel &left = img(r, c + k - 1), &right = img(r, c + k + 1);
					const rgb_pixel &up = img(r - 1, c + k), &down = img(r + 1, c + k);
					int bx = int(right.red) - int(left.red), by = int(down.red) - int(up.red);
					int best = bx * bx + by * by;
					const int chx[2] = {int(right.green) - int(left.green), int(right.blue) - int(left.blue)};
					const int chy[2] = {int(down.green) - int(up.green), int(down.blue) - int(up.blue)};
					for (int ch = 0; ch < 2; ++ch) {
						const int l = chx[ch] * chx[ch] + chy[ch] * chy[ch];
						if (!(best > l)) {
							best = l;
							bx = chx[ch];
							by = chy[ch];
						}
					}
					++*total;
					if (ax[k] != bx || ay[k] != by || al[k] != best) ++*differ;
				}
			}
		}
		return nullptr;
	} catch (std::exception& e) {
		return avx_error("fhog: ", e.what());
	} catch (...) {
		return avx_error("fhog: ", "unknown exception");
	}
}

char* fo_hog_avx2_fhog(const uint8_t* rgb, long w, long hgt, int dlib_impl, int n) {
	try {
		image_t img;
		copy_image(reinterpret_cast<const rgb_pixel*>(rgb), w, hgt, img);
		fo_dlib_avx2::array<array2d<float>> hog;
		for (int i = 0; i < n; ++i) {
			if (dlib_impl)
				extract_fhog_features(img, hog, 8, 10, 10);
			else
				fhog_features(img, hog, 8, 10, 10);
		}
		return nullptr;
	} catch (std::exception& e) {
		return avx_error("fhog: ", e.what());
	} catch (...) {
		return avx_error("fhog: ", "unknown exception");
	}
}

char* fo_hog_avx2_detect(fo_hog_avx2* h, const uint8_t* rgb, long w, long hgt, double scale, int levels, long pad,
                         double adjust, int dlib_filters, fo_det* out, int cap, int* n, int* det_w, int* det_h) {
	*n = 0;
	try {
		image_t a, b, c;
		const image_t* src =
		    scan_image(reinterpret_cast<const rgb_pixel*>(rgb), w, hgt, nullptr, scale, levels, pad, a, b, c);
		*det_w = int(src->nc());
		*det_h = int(src->nr());
		std::vector<rect_detection> found;
		{
			offset_scope off(detector_offset(levels, pad));
			if (h->use_fused && !dlib_filters)
				h->fused.detect(h->det, *src, found, adjust);
			else
				h->det(*src, found, adjust);
		}
		*n = int(found.size());
		for (int i = 0; i < *n && i < cap; ++i) {
			const rectangle& r = found[size_t(i)].rect;
			out[i].left = r.left();
			out[i].top = r.top();
			out[i].right = r.right();
			out[i].bottom = r.bottom();
			out[i].score = found[size_t(i)].detection_confidence;
			out[i].pose = int(found[size_t(i)].weight_index);
		}
		return nullptr;
	} catch (std::exception& e) {
		return avx_error("detect (AVX2): ", e.what());
	} catch (...) {
		return avx_error("detect (AVX2): ", "unknown exception");
	}
}

}  // extern "C"
