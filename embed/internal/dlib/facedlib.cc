// dlib face detection, landmarks and descriptors for faceoptout.
//
// The network definitions below are dlib's published architectures for
// dlib_face_recognition_resnet_model_v1.dat (dnn_face_recognition_ex.cpp)
// and mmod_human_face_detector.dat (dnn_mmod_face_detection_ex.cpp).

#include <emmintrin.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <dlib/dnn.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

#include "facedlib.h"
#include "hog_avx2.h"

using namespace dlib;

namespace {

// ---- face recognition ResNet ----
template <template <int, template <typename> class, int, typename> class block, int N,
          template <typename> class BN, typename SUBNET>
using residual = add_prev1<block<N, BN, 1, tag1<SUBNET>>>;

template <template <int, template <typename> class, int, typename> class block, int N,
          template <typename> class BN, typename SUBNET>
using residual_down = add_prev2<avg_pool<2, 2, 2, 2, skip1<tag2<block<N, BN, 2, tag1<SUBNET>>>>>>;

template <int N, template <typename> class BN, int stride, typename SUBNET>
using block = BN<con<N, 3, 3, 1, 1, relu<BN<con<N, 3, 3, stride, stride, SUBNET>>>>>;

template <int N, typename SUBNET> using ares = relu<residual<block, N, affine, SUBNET>>;
template <int N, typename SUBNET> using ares_down = relu<residual_down<block, N, affine, SUBNET>>;

template <typename SUBNET> using alevel0 = ares_down<256, SUBNET>;
template <typename SUBNET> using alevel1 = ares<256, ares<256, ares_down<256, SUBNET>>>;
template <typename SUBNET> using alevel2 = ares<128, ares<128, ares_down<128, SUBNET>>>;
template <typename SUBNET> using alevel3 = ares<64, ares<64, ares<64, ares_down<64, SUBNET>>>>;
template <typename SUBNET> using alevel4 = ares<32, ares<32, ares<32, SUBNET>>>;

using resnet_type = loss_metric<fc_no_bias<128, avg_pool_everything<
    alevel0<alevel1<alevel2<alevel3<alevel4<
    max_pool<3, 3, 2, 2, relu<affine<con<32, 7, 7, 2, 2,
    input_rgb_image_sized<150>>>>>>>>>>>>>;

// ---- MMOD CNN face detector ----
template <long num_filters, typename SUBNET> using con5d = con<num_filters, 5, 5, 2, 2, SUBNET>;
template <long num_filters, typename SUBNET> using con5 = con<num_filters, 5, 5, 1, 1, SUBNET>;
template <typename SUBNET> using downsampler =
    relu<affine<con5d<32, relu<affine<con5d<32, relu<affine<con5d<16, SUBNET>>>>>>>>>;
template <typename SUBNET> using rcon5 = relu<affine<con5<45, SUBNET>>>;
using mmod_type = loss_mmod<con<1, 9, 9, 1, 1, rcon5<rcon5<rcon5<downsampler<
    input_rgb_image_pyramid<pyramid_down<6>>>>>>>>;

typedef matrix<rgb_pixel> image_t;

#include "scan.h"

// fast_detector is dlib's frontal_face_detector with the faster pyramid
// resize (scan.h): the detector the HOG scan runs.
typedef object_detector<scan_fhog_pyramid<fast_pyramid_down6>> fast_detector;

const int kChipSize = 150;
const size_t kBatch = 16;

char* dup_error(const char* prefix, const char* what) {
	std::string s = std::string(prefix) + what;
	char* p = static_cast<char*>(std::malloc(s.size() + 1));
	if (p) std::memcpy(p, s.c_str(), s.size() + 1);
	return p;
}

}  // namespace

struct fo_worker {
	fo_worker() = default;
	fo_worker(const fo_worker&) = delete;
	fo_worker& operator=(const fo_worker&) = delete;
	~fo_worker() { fo_hog_avx2_free(hog_avx2); }

	// hog is dlib's frontal_face_detector (dlib's own pyramid resize: for
	// tests, and the serialized form the others load); hog_fast the same
	// detector with fast_pyramid_down6, the one that runs.
	frontal_face_detector hog;
	fast_detector hog_fast;
	// hog_avx2 is hog_fast built for AVX2 (hog_avx2.cc); null when the CPU
	// lacks AVX2 or FMA.
	fo_hog_avx2* hog_avx2 = nullptr;
	shape_predictor sp;
	resnet_type net;
	std::unique_ptr<mmod_type> cnn;
	image_t img;
	dlib::rand rnd;
};

namespace {

// have_avx2 says whether the CPU (and OS) run AVX2 and FMA code.
bool have_avx2() {
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// load_fast gives w the detectors with the fast pyramid: portable, and
// the AVX2 build when the CPU runs it.
void load_fast(fo_worker* w) {
	std::ostringstream out;
	serialize(w->hog, out);
	const std::string s = out.str();
	{
		std::istringstream in(s);
		deserialize(w->hog_fast, in);
	}
	if (!have_avx2()) return;
	char* err = fo_hog_avx2_new(s.data(), s.size(), &w->hog_avx2);
	if (err) {
		std::string msg(err);
		std::free(err);
		throw error(msg);
	}
}

double laplacian_variance(const image_t& chip) {
	const long h = chip.nr(), w = chip.nc();
	if (h < 3 || w < 3) return 0;
	std::vector<double> luma(size_t(h * w));
	for (long y = 0; y < h; ++y)
		for (long x = 0; x < w; ++x) {
			const rgb_pixel& p = chip(y, x);
			luma[size_t(y * w + x)] = 0.299 * p.red + 0.587 * p.green + 0.114 * p.blue;
		}
	double sum = 0, sum2 = 0;
	long n = 0;
	for (long y = 1; y < h - 1; ++y)
		for (long x = 1; x < w - 1; ++x) {
			const double* c = &luma[size_t(y * w + x)];
			double v = c[-1] + c[1] + c[-w] + c[w] - 4 * c[0];
			sum += v;
			sum2 += v * v;
			++n;
		}
	double mean = sum / n;
	return sum2 / n - mean * mean;
}

// jpeg_alloc sizes the worker's image for fo_jpeg_decode. It is called
// from C code that longjmps on errors, so it must not let an exception out.
uint8_t* jpeg_alloc(void* ctx, int w, int h) noexcept {
	try {
		image_t* img = static_cast<image_t*>(ctx);
		img->set_size(h, w);
		return reinterpret_cast<uint8_t*>(&(*img)(0, 0));
	} catch (...) {
		return nullptr;
	}
}

// orient applies an EXIF orientation (see imageutil.Orient): a source pixel
// (x, y) of a w x h image goes to
//
//	2: (w-1-x, y)      3: (w-1-x, h-1-y)    4: (x, h-1-y)
//	5: (y, x)          6: (h-1-y, x)        7: (h-1-y, w-1-x)    8: (y, w-1-x)
void orient(image_t& img, int o) {
	if (o < 2 || o > 8) return;
	const long w = img.nc(), h = img.nr();
	image_t out;
	if (o >= 5) {
		out.set_size(w, h);
	} else {
		out.set_size(h, w);
	}
	for (long y = 0; y < h; ++y) {
		const rgb_pixel* src = &img(y, 0);
		for (long x = 0; x < w; ++x) {
			long dx = x, dy = y;
			switch (o) {
			case 2: dx = w - 1 - x; break;
			case 3: dx = w - 1 - x; dy = h - 1 - y; break;
			case 4: dy = h - 1 - y; break;
			case 5: dx = y; dy = x; break;
			case 6: dx = h - 1 - y; dy = x; break;
			case 7: dx = h - 1 - y; dy = w - 1 - x; break;
			case 8: dx = y; dy = w - 1 - x; break;
			}
			out(dy, dx) = src[x];
		}
	}
	img.swap(out);
}

}  // namespace

extern "C" {

int fo_have_avx2(void) {
	try {
		return have_avx2() ? 1 : 0;
	} catch (...) {
		return 0;
	}
}

int fo_bilinear_rgb(const uint8_t* in, long inr, long inc, uint8_t* out, long onr, long onc, int avx2) {
	try {
		if (avx2 && have_avx2())
			fo_hog_avx2_bilinear(in, inr, inc, out, onr, onc);
		else
			bilinear_rgb(reinterpret_cast<const rgb_pixel*>(in), inr, inc, inc, reinterpret_cast<rgb_pixel*>(out), onr,
			             onc, onc);
		return 0;
	} catch (...) {
		return -1;
	}
}

int fo_fhog_orientation(int gx, int gy) {
	try {
		return have_avx2() ? fo_hog_avx2_orientation(gx, gy) : -1;
	} catch (...) {
		return -1;
	}
}

char* fo_check_fhog(const uint8_t* rgb, long w, long h, long* differ, long* total) {
	*differ = *total = 0;
	if (!have_avx2()) return dup_error("fhog: ", "CPU without AVX2+FMA");
	return fo_hog_avx2_check_fhog(rgb, w, h, differ, total);
}

char* fo_fhog(const uint8_t* rgb, long w, long h, int dlib_impl, int n) {
	if (!have_avx2()) return dup_error("fhog: ", "CPU without AVX2+FMA");
	return fo_hog_avx2_fhog(rgb, w, h, dlib_impl, n);
}

char* fo_worker_new(const char* dir, int load_cnn, fo_worker** out, int* code) {
	*out = nullptr;
	*code = FO_ERR_OTHER;
	std::string file;
	try {
		std::unique_ptr<fo_worker> w(new fo_worker);
		w->hog = get_frontal_face_detector();
		load_fast(w.get());
		std::string d = dir;
		file = d + "/shape_predictor_5_face_landmarks.dat";
		deserialize(file) >> w->sp;
		if (w->sp.num_parts() != 5) throw error("not a 5-point shape predictor");
		file = d + "/dlib_face_recognition_resnet_model_v1.dat";
		deserialize(file) >> w->net;
		if (load_cnn) {
			file = d + "/mmod_human_face_detector.dat";
			w->cnn.reset(new mmod_type);
			deserialize(file) >> *w->cnn;
		}
		*out = w.release();
		return nullptr;
	} catch (std::bad_alloc& e) {
		*code = FO_ERR_ALLOC;
		return dup_error("out of memory loading models: ", e.what());
	} catch (std::exception& e) {
		*code = FO_ERR_MODEL;
		return dup_error((file + ": ").c_str(), e.what());
	} catch (...) {
		*code = FO_ERR_MODEL;
		return dup_error((file + ": ").c_str(), "unknown exception");
	}
}

char* fo_worker_clone(const fo_worker* src, fo_worker** out) {
	*out = nullptr;
	try {
		std::unique_ptr<fo_worker> w(new fo_worker);
		w->hog = src->hog;
		load_fast(w.get());
		w->sp = src->sp;
		w->net = src->net;
		if (src->cnn) w->cnn.reset(new mmod_type(*src->cnn));
		*out = w.release();
		return nullptr;
	} catch (std::exception& e) {
		return dup_error("cloning models: ", e.what());
	} catch (...) {
		return dup_error("cloning models: ", "unknown exception");
	}
}

void fo_worker_free(fo_worker* w) {
	try {
		delete w;
	} catch (...) {
	}
}

char* fo_set_image(fo_worker* w, const uint8_t* pix, int width, int height, int stride, int bpp) {
	try {
		w->img.set_size(height, width);
		for (int y = 0; y < height; ++y) {
			const uint8_t* p = pix + size_t(y) * size_t(stride);
			for (int x = 0; x < width; ++x, p += bpp) w->img(y, x) = rgb_pixel(p[0], p[1], p[2]);
		}
		return nullptr;
	} catch (std::exception& e) {
		w->img.set_size(0, 0);
		return dup_error("copying image: ", e.what());
	} catch (...) {
		w->img.set_size(0, 0);
		return dup_error("copying image: ", "unknown exception");
	}
}

char* fo_set_jpeg(fo_worker* w, const uint8_t* data, size_t len, int scale_num, long max_memory,
                  int max_scans, int orientation, int* out_w, int* out_h) {
	*out_w = 0;
	*out_h = 0;
	try {
		int dw = 0, dh = 0;
		char* err = fo_jpeg_decode(data, len, scale_num, max_memory, max_scans, jpeg_alloc, &w->img, &dw, &dh);
		if (err) {
			w->img.set_size(0, 0);
			return err;
		}
		if (dw != w->img.nc() || dh != w->img.nr()) {
			w->img.set_size(0, 0);
			return dup_error("decoding JPEG: ", "decoded size differs from the buffer");
		}
		orient(w->img, orientation);
		*out_w = int(w->img.nc());
		*out_h = int(w->img.nr());
		return nullptr;
	} catch (std::exception& e) {
		w->img.set_size(0, 0);
		return dup_error("decoding JPEG: ", e.what());
	} catch (...) {
		w->img.set_size(0, 0);
		return dup_error("decoding JPEG: ", "unknown exception");
	}
}

char* fo_shrink_image(const fo_worker* w, long k, uint8_t* out, long out_w, long out_h) {
	try {
		const long iw = w->img.nc(), ih = w->img.nr();
		if (k < 1 || iw <= 0 || ih <= 0 || out_w != (iw + k - 1) / k || out_h != (ih + k - 1) / k)
			return dup_error("shrink: ", "no image, or a size that does not match it");
		// Column sums of the k rows of each output row (a loop the
		// compiler vectorises), then sums of k columns: the same integer
		// sums as adding pixel by pixel.
		static_assert(sizeof(rgb_pixel) == 3, "packed RGB rows");
		std::vector<uint32_t> cols(size_t(3 * iw));
		const long row_bytes = 3 * iw;
		for (long ry = 0; ry < out_h; ++ry) {
			std::fill(cols.begin(), cols.end(), 0u);
			const long y0 = ry * k, y1 = std::min(ih, y0 + k);
			uint32_t* c = cols.data();
			for (long y = y0; y < y1; ++y) {
				const uint8_t* row = reinterpret_cast<const uint8_t*>(&w->img(y, 0));
				for (long i = 0; i < row_bytes; ++i) c[i] += row[i];
			}
			for (long rx = 0; rx < out_w; ++rx) {
				const long x0 = rx * k, x1 = std::min(iw, x0 + k);
				uint64_t sum[3] = {0, 0, 0};
				for (long x = x0; x < x1; ++x) {
					sum[0] += c[3 * x];
					sum[1] += c[3 * x + 1];
					sum[2] += c[3 * x + 2];
				}
				const uint64_t n = uint64_t(y1 - y0) * uint64_t(x1 - x0);
				uint8_t* o = out + 4 * (ry * out_w + rx);
				for (int ch = 0; ch < 3; ++ch) o[ch] = uint8_t((sum[ch] + n / 2) / n);
				o[3] = 255;
			}
		}
		return nullptr;
	} catch (std::exception& e) {
		return dup_error("shrink: ", e.what());
	} catch (...) {
		return dup_error("shrink: ", "unknown exception");
	}
}

void fo_clear_image(fo_worker* w) {
	try {
		image_t empty;
		w->img.swap(empty);
	} catch (...) {
	}
}

char* fo_detect(fo_worker* w, int cnn, int portable, int dlib_pyramid, int dlib_filters, double scale, int levels,
                int pad, double adjust, fo_det* out, int cap, int* n, int* det_w, int* det_h) {
	*n = 0;
	try {
		if (w->img.size() == 0) return nullptr;
		if (cnn && !w->cnn) return dup_error("detect: ", "CNN detector not loaded");
		const long iw = w->img.nc(), ih = w->img.nr();
		const rgb_pixel* pix = &w->img(0, 0);
		std::vector<fo_det> dets;
		if (!cnn && !portable && !dlib_pyramid && w->hog_avx2) {
			// The AVX2 build resizes, pads and scans; the detections come back
			// in the coordinates of the image scanned.
			std::vector<fo_det> raw(size_t(std::max(cap, 1)));
			int found = 0;
			char* err = fo_hog_avx2_detect(w->hog_avx2, reinterpret_cast<const uint8_t*>(pix), iw, ih, scale, levels,
			                               pad, adjust, dlib_filters, raw.data(), int(raw.size()), &found, det_w, det_h);
			if (err) return err;
			raw.resize(size_t(std::min(found, int(raw.size()))));
			dets = std::move(raw);
			*n = found;
		} else {
			image_t a, b, c;
			const image_t* src = scan_image(pix, iw, ih, &w->img, scale, levels, pad, a, b, c);
			*det_w = int(src->nc());
			*det_h = int(src->nr());
			if (cnn) {
				if (src->nc() < 32 || src->nr() < 32) return nullptr;
				std::vector<mmod_rect> found = w->cnn->process(*src, adjust);
				for (auto& m : found) {
					const rectangle& r = m.rect;
					dets.push_back(fo_det{r.left(), r.top(), r.right(), r.bottom(), m.detection_confidence, -1});
				}
			} else {
				std::vector<rect_detection> found;
				if (dlib_pyramid) {
					w->hog(*src, found, adjust);
				} else {
					offset_scope off(detector_offset(levels, pad));
					w->hog_fast(*src, found, adjust);
				}
				for (auto& f : found) {
					const rectangle& r = f.rect;
					dets.push_back(fo_det{r.left(), r.top(), r.right(), r.bottom(), f.detection_confidence,
					                      int(f.weight_index)});
				}
			}
			*n = int(dets.size());
		}
		// Back to the worker's image: remove the border, undo the scale (for
		// pyramid levels, as dlib maps a detection up its pyramid). The fast
		// HOG detector has mapped its detections through the levels itself
		// when it could (detector_offset).
		const double sx = double(*det_w - 2 * pad) / double(iw);
		const double sy = double(*det_h - 2 * pad) / double(ih);
		const pyramid_down<6> pyr;
		const bool mapped = !cnn && !dlib_pyramid && detector_offset(levels, pad) > 0;
		for (size_t i = 0; i < dets.size() && int(i) < cap; ++i) {
			const fo_det& d = dets[i];
			fo_det& o = out[i];
			if (mapped) {
				o = d;
				continue;
			}
			if (levels > 0) {
				const rectangle r = pyr.rect_up(drectangle(d.left - pad, d.top - pad, d.right - pad, d.bottom - pad),
				                                unsigned(levels));
				o.left = r.left();
				o.top = r.top();
				o.right = r.right();
				o.bottom = r.bottom();
			} else {
				o.left = long(std::floor((d.left - pad) / sx + 0.5));
				o.top = long(std::floor((d.top - pad) / sy + 0.5));
				o.right = long(std::floor((d.right + 1 - pad) / sx + 0.5)) - 1;
				o.bottom = long(std::floor((d.bottom + 1 - pad) / sy + 0.5)) - 1;
			}
			o.score = d.score;
			o.pose = d.pose;
		}
		return nullptr;
	} catch (std::exception& e) {
		return dup_error("detect: ", e.what());
	} catch (...) {
		return dup_error("detect: ", "unknown exception");
	}
}

char* fo_describe(fo_worker* w, const fo_det* dets, int n, double chip_padding, int jitter, fo_desc* out) {
	try {
		for (int start = 0; start < n; start += int(kBatch)) {
			int end = std::min(n, start + int(kBatch));
			std::vector<image_t> chips;
			chips.reserve(size_t(end - start) * size_t(jitter > 0 ? jitter : 1));
			for (int i = start; i < end; ++i) {
				rectangle r(dets[i].left, dets[i].top, dets[i].right, dets[i].bottom);
				full_object_detection shape = w->sp(w->img, r);
				fo_desc& d = out[i];
				for (unsigned long p = 0; p < 5; ++p) {
					d.parts[2 * p] = shape.part(p).x();
					d.parts[2 * p + 1] = shape.part(p).y();
				}
				image_t chip;
				extract_image_chip(w->img, get_face_chip_details(shape, kChipSize, chip_padding), chip);
				d.sharpness = laplacian_variance(chip);
				if (jitter > 0) {
					for (int j = 0; j < jitter; ++j) chips.push_back(jitter_image(chip, w->rnd));
				} else {
					chips.push_back(std::move(chip));
				}
			}
			std::vector<matrix<float, 0, 1>> descs = w->net(chips, kBatch);
			const size_t per = size_t(jitter > 0 ? jitter : 1);
			for (int i = start; i < end; ++i) {
				matrix<float, 0, 1> v = descs[size_t(i - start) * per];
				for (size_t j = 1; j < per; ++j) v += descs[size_t(i - start) * per + j];
				if (per > 1) v /= float(per);
				std::memcpy(out[i].descriptor, &v(0), 128 * sizeof(float));
			}
		}
		return nullptr;
	} catch (std::exception& e) {
		return dup_error("describe: ", e.what());
	} catch (...) {
		return dup_error("describe: ", "unknown exception");
	}
}

}  // extern "C"

// ---- detection without descriptors ----

struct fo_shape68 {
	shape_predictor sp;
};

extern "C" {

char* fo_worker_new_hog(fo_worker** out) {
	*out = nullptr;
	try {
		std::unique_ptr<fo_worker> w(new fo_worker);
		w->hog = get_frontal_face_detector();
		load_fast(w.get());
		*out = w.release();
		return nullptr;
	} catch (std::exception& e) {
		return dup_error("loading the HOG detector: ", e.what());
	} catch (...) {
		return dup_error("loading the HOG detector: ", "unknown exception");
	}
}

void fo_image_size(const fo_worker* w, int* width, int* height) {
	*width = int(w->img.nc());
	*height = int(w->img.nr());
}

char* fo_copy_region(const fo_worker* w, long x, long y, long width, long height, uint8_t* out) {
	try {
		if (width <= 0 || height <= 0) return nullptr;
		std::memset(out, 0, size_t(width) * size_t(height) * 3);
		const long iw = w->img.nc(), ih = w->img.nr();
		const long x0 = std::max(x, 0L), x1 = std::min(x + width, iw);
		const long y0 = std::max(y, 0L), y1 = std::min(y + height, ih);
		if (x0 >= x1 || y0 >= y1) return nullptr;
		for (long r = y0; r < y1; ++r) {
			const rgb_pixel* src = &w->img(r, x0);
			uint8_t* dst = out + (size_t(r - y) * size_t(width) + size_t(x0 - x)) * 3;
			for (long c = x0; c < x1; ++c, ++src, dst += 3) {
				dst[0] = src->red;
				dst[1] = src->green;
				dst[2] = src->blue;
			}
		}
		return nullptr;
	} catch (std::exception& e) {
		return dup_error("copy region: ", e.what());
	} catch (...) {
		return dup_error("copy region: ", "unknown exception");
	}
}

char* fo_shape68_new(const char* path, fo_shape68** out, int* code) {
	*out = nullptr;
	*code = FO_ERR_OTHER;
	const std::string file = path;
	try {
		std::unique_ptr<fo_shape68> s(new fo_shape68);
		deserialize(file) >> s->sp;
		if (s->sp.num_parts() != 68) throw error("not a 68-point shape predictor");
		*out = s.release();
		return nullptr;
	} catch (std::bad_alloc& e) {
		*code = FO_ERR_ALLOC;
		return dup_error("out of memory loading models: ", e.what());
	} catch (std::exception& e) {
		*code = FO_ERR_MODEL;
		return dup_error((file + ": ").c_str(), e.what());
	} catch (...) {
		*code = FO_ERR_MODEL;
		return dup_error((file + ": ").c_str(), "unknown exception");
	}
}

void fo_shape68_free(fo_shape68* sp) {
	try {
		delete sp;
	} catch (...) {
	}
}

char* fo_landmarks68(const fo_worker* w, const fo_shape68* sp, const fo_det* dets, int n, long* out) {
	try {
		if (w->img.size() == 0) return dup_error("landmarks: ", "no image");
		for (int i = 0; i < n; ++i) {
			rectangle r(dets[i].left, dets[i].top, dets[i].right, dets[i].bottom);
			full_object_detection shape = sp->sp(w->img, r);
			if (shape.num_parts() != 68) return dup_error("landmarks: ", "predictor gave the wrong number of points");
			for (unsigned long p = 0; p < 68; ++p) {
				out[size_t(i) * 136 + 2 * p] = shape.part(p).x();
				out[size_t(i) * 136 + 2 * p + 1] = shape.part(p).y();
			}
		}
		return nullptr;
	} catch (std::exception& e) {
		return dup_error("landmarks: ", e.what());
	} catch (...) {
		return dup_error("landmarks: ", "unknown exception");
	}
}

}  // extern "C"
