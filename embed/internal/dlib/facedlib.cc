// dlib face detection, landmarks and descriptors for faceoptout.
//
// The network definitions below are dlib's published architectures for
// dlib_face_recognition_resnet_model_v1.dat (dnn_face_recognition_ex.cpp)
// and mmod_human_face_detector.dat (dnn_mmod_face_detection_ex.cpp).

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <dlib/dnn.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

#include "facedlib.h"

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
	frontal_face_detector hog;
	shape_predictor sp;
	resnet_type net;
	std::unique_ptr<mmod_type> cnn;
	image_t img;
	dlib::rand rnd;
};

namespace {

// taps are the source pixels and weights of each output pixel of a 1-D
// resampling: area averaging when shrinking, linear interpolation when
// enlarging. Every output pixel has n taps (unused ones weigh 0).
struct taps {
	long n = 0;
	std::vector<long> start;
	std::vector<float> w;  // n per output pixel
};

taps make_taps(long in, long out) {
	taps t;
	const double s = double(out) / double(in);  // output pixels per input pixel
	t.n = s < 1 ? long(std::ceil(1.0 / s)) + 1 : 2;
	t.start.resize(size_t(out));
	t.w.assign(size_t(out * t.n), 0.0f);
	for (long o = 0; o < out; ++o) {
		float* w = &t.w[size_t(o * t.n)];
		if (s < 1) {
			const double a = o / s, b = std::min(double(in), (o + 1) / s);
			long i0 = std::min(long(a), in - 1);
			long i1 = std::min(in, long(std::ceil(b)));
			i1 = std::min(i1, i0 + t.n);
			double sum = 0;
			for (long i = i0; i < i1; ++i) {
				double v = std::min(b, double(i + 1)) - std::max(a, double(i));
				if (v < 0) v = 0;
				w[i - i0] = float(v);
				sum += v;
			}
			for (long k = 0; k < t.n; ++k) w[k] = sum > 0 ? float(w[k] / sum) : 0.0f;
			if (sum <= 0) w[0] = 1;
			t.start[size_t(o)] = i0;
		} else {
			double c = (o + 0.5) / s - 0.5;
			long i0 = long(std::floor(c));
			float f = float(c - double(i0));
			if (i0 < 0) {
				i0 = 0;
				f = 0;
			}
			if (i0 >= in - 1) {
				i0 = std::max(0L, in - 2);
				f = in > 1 ? 1.0f : 0.0f;
			}
			if (in == 1) {
				w[0] = 1;
			} else {
				w[0] = 1 - f;
				w[1] = f;
			}
			t.start[size_t(o)] = i0;
		}
		// Keep every tap inside the source.
		if (t.start[size_t(o)] + t.n > in) {
			long shift = t.start[size_t(o)] + t.n - in;
			long ns = std::max(0L, t.start[size_t(o)] - shift);
			shift = t.start[size_t(o)] - ns;
			for (long k = t.n - 1; k >= 0; --k) {
				float v = w[k];
				w[k] = 0;
				if (k + shift < t.n) w[k + shift] = v;
			}
			t.start[size_t(o)] = ns;
		}
	}
	return t;
}

// resample resizes img to nw x nh with a separable filter (see taps),
// one output row at a time (memory: one float row of the source).
void resample(const image_t& img, long nw, long nh, image_t& out) {
	const long w = img.nc(), h = img.nr();
	const taps tx = make_taps(w, nw), ty = make_taps(h, nh);
	out.set_size(nh, nw);
	std::vector<float> row(size_t(w) * 3);
	for (long y = 0; y < nh; ++y) {
		std::fill(row.begin(), row.end(), 0.0f);
		const float* wy = &ty.w[size_t(y * ty.n)];
		for (long k = 0; k < ty.n; ++k) {
			const float wk = wy[k];
			if (wk == 0) continue;
			const unsigned char* src = reinterpret_cast<const unsigned char*>(&img(ty.start[size_t(y)] + k, 0));
			float* r = row.data();
			for (long i = 0; i < w * 3; ++i) r[i] += wk * float(src[i]);
		}
		rgb_pixel* dst = &out(y, 0);
		for (long x = 0; x < nw; ++x) {
			const float* wx = &tx.w[size_t(x * tx.n)];
			const float* p = &row[size_t(tx.start[size_t(x)]) * 3];
			float r = 0, g = 0, b = 0;
			for (long k = 0; k < tx.n; ++k, p += 3) {
				r += wx[k] * p[0];
				g += wx[k] * p[1];
				b += wx[k] * p[2];
			}
			auto c = [](float v) { return (unsigned char)(v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5f); };
			dst[x] = rgb_pixel(c(r), c(g), c(b));
		}
	}
}

// scaled returns img resized by scale: pyramid_up for an exact 2x (as
// face_recognition's upsampling does), resample otherwise.
void scaled(const image_t& img, double scale, image_t& out) {
	long nw = std::max(1L, long(img.nc() * scale + 0.5));
	long nh = std::max(1L, long(img.nr() * scale + 0.5));
	if (scale == 2.0) {
		pyramid_up(img, out, pyramid_down<2>());
		return;
	}
	resample(img, nw, nh, out);
}

// padded copies img into a larger image with a border of pad pixels
// filled with the image's mean colour.
void padded(const image_t& img, long pad, image_t& out) {
	const long h = img.nr(), w = img.nc();
	double sr = 0, sg = 0, sb = 0;
	for (long y = 0; y < h; ++y)
		for (long x = 0; x < w; ++x) {
			sr += img(y, x).red;
			sg += img(y, x).green;
			sb += img(y, x).blue;
		}
	const double n = double(h * w);
	const rgb_pixel fill((unsigned char)(sr / n + 0.5), (unsigned char)(sg / n + 0.5), (unsigned char)(sb / n + 0.5));
	out.set_size(h + 2 * pad, w + 2 * pad);
	for (long y = 0; y < out.nr(); ++y)
		for (long x = 0; x < out.nc(); ++x) out(y, x) = fill;
	for (long y = 0; y < h; ++y) std::memcpy(&out(y + pad, pad), &img(y, 0), sizeof(rgb_pixel) * size_t(w));
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

}  // namespace

extern "C" {

char* fo_worker_new(const char* dir, int load_cnn, fo_worker** out, int* code) {
	*out = nullptr;
	*code = FO_ERR_OTHER;
	std::string file;
	try {
		std::unique_ptr<fo_worker> w(new fo_worker);
		w->hog = get_frontal_face_detector();
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

void fo_clear_image(fo_worker* w) {
	try {
		image_t empty;
		w->img.swap(empty);
	} catch (...) {
	}
}

char* fo_detect(fo_worker* w, int cnn, double scale, int pad, double adjust,
                fo_det* out, int cap, int* n, int* det_w, int* det_h) {
	*n = 0;
	try {
		if (w->img.size() == 0) return nullptr;
		if (cnn && !w->cnn) return dup_error("detect: ", "CNN detector not loaded");
		const image_t* src = &w->img;
		image_t small, pimg;
		if (scale != 1.0) {
			scaled(w->img, scale, small);
			src = &small;
		}
		const double sx = double(src->nc()) / double(w->img.nc());
		const double sy = double(src->nr()) / double(w->img.nr());
		if (pad > 0) {
			padded(*src, pad, pimg);
			src = &pimg;
		}
		*det_w = int(src->nc());
		*det_h = int(src->nr());
		std::vector<fo_det> dets;
		auto add = [&](const rectangle& r, double score, int pose) {
			fo_det d;
			d.left = long(std::floor((r.left() - pad) / sx + 0.5));
			d.top = long(std::floor((r.top() - pad) / sy + 0.5));
			d.right = long(std::floor((r.right() + 1 - pad) / sx + 0.5)) - 1;
			d.bottom = long(std::floor((r.bottom() + 1 - pad) / sy + 0.5)) - 1;
			d.score = score;
			d.pose = pose;
			dets.push_back(d);
		};
		if (cnn) {
			if (src->nc() < 32 || src->nr() < 32) return nullptr;
			std::vector<mmod_rect> found = w->cnn->process(*src, adjust);
			for (auto& m : found) add(m.rect, m.detection_confidence, -1);
		} else {
			std::vector<rect_detection> found;
			w->hog(*src, found, adjust);
			for (auto& r : found) add(r.rect, r.detection_confidence, int(r.weight_index));
		}
		*n = int(dets.size());
		for (int i = 0; i < *n && i < cap; ++i) out[i] = dets[size_t(i)];
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
