// Resampling and padding of the image scanned for faces. This file is
// included, inside an anonymous namespace, by both facedlib.cc (portable
// code) and hog_avx2.cc (AVX2 code, where `dlib` names another namespace):
// each translation unit gets its own internal copy, so the two builds of
// these functions can never be mixed up by the linker. The includer
// provides image_t (a dlib matrix of rgb_pixel), pyramid_up and
// pyramid_down.

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

// resample resizes the w x h image src to nw x nh with a separable filter
// (see taps), one output row at a time (memory: one row of the source), in
// fixed point: 8-bit weights down the columns into 16-bit sums, 14-bit
// weights along the row; results rounded to nearest.
void resample(const rgb_pixel* src, long w, long h, long nw, long nh, image_t& out) {
	const taps tx = make_taps(w, nw), ty = make_taps(h, nh);
	// Fixed-point weights whose sum is exactly 256 (rows) and 16384
	// (columns): the largest tap takes the rounding remainder.
	auto quantize = [](const taps& t, long outs, int one) {
		std::vector<int32_t> q(t.w.size());
		for (long o = 0; o < outs; ++o) {
			const float* w = &t.w[size_t(o * t.n)];
			int32_t* d = &q[size_t(o * t.n)];
			int32_t sum = 0;
			long big = 0;
			for (long k = 0; k < t.n; ++k) {
				d[k] = int32_t(std::lround(double(w[k]) * one));
				sum += d[k];
				if (w[k] > w[big]) big = k;
			}
			d[big] += one - sum;
		}
		return q;
	};
	const std::vector<int32_t> qx = quantize(tx, nw, 16384), qy = quantize(ty, nh, 256);
	out.set_size(nh, nw);
	const long n = w * 3;
	std::vector<uint16_t> row(static_cast<size_t>(n));
	for (long y = 0; y < nh; ++y) {
		const int32_t* wy = &qy[size_t(y * ty.n)];
		uint16_t* r = row.data();
		bool first = true;
		for (long k = 0; k < ty.n; ++k) {
			const uint16_t wk = uint16_t(wy[k]);
			if (wk == 0) continue;
			const unsigned char* s = reinterpret_cast<const unsigned char*>(src + (ty.start[size_t(y)] + k) * w);
			if (first) {
				for (long i = 0; i < n; ++i) r[i] = uint16_t(s[i] * wk);
				first = false;
			} else {
				for (long i = 0; i < n; ++i) r[i] = uint16_t(r[i] + s[i] * wk);
			}
		}
		if (first) std::fill(row.begin(), row.end(), uint16_t(0));
		unsigned char* dst = reinterpret_cast<unsigned char*>(&out(y, 0));
		for (long x = 0; x < nw; ++x) {
			const int32_t* wx = &qx[size_t(x * tx.n)];
			const uint16_t* p = r + tx.start[size_t(x)] * 3;
			uint32_t cr = 1 << 21, cg = 1 << 21, cb = 1 << 21;
			for (long k = 0; k < tx.n; ++k, p += 3) {
				const uint32_t wk = uint32_t(wx[k]);
				cr += p[0] * wk;
				cg += p[1] * wk;
				cb += p[2] * wk;
			}
			dst[3 * x] = (unsigned char)std::min<uint32_t>(cr >> 22, 255);
			dst[3 * x + 1] = (unsigned char)std::min<uint32_t>(cg >> 22, 255);
			dst[3 * x + 2] = (unsigned char)std::min<uint32_t>(cb >> 22, 255);
		}
	}
}

// bilinear_rgb resizes the inr x inc image in (rows of in_stride pixels)
// to onr x onc (rows of out_stride) as dlib's resize_image(rgb, bilinear)
// does, the HOG pyramid's resize: corners map to corners
// (x = c*(inc-1)/(onc-1)) and results are truncated. It is fixed point:
// 8-bit weights down the columns into 16-bit sums, then 15-bit weights
// along the row with SSE2 (one pixel's three channels per vector), so the
// portable and AVX2 builds compute the same pixels, within 1 of dlib's
// float code (measured on faces/idols: 1.9% of samples differ, by 1) and
// 4x faster. Where FO_SCAN_AVX2 is defined (hog_avx2.cc), the row pass does
// four pixels at a time with AVX2, to the same bytes
// (TestBilinearAVX2MatchesPortable).
void bilinear_rgb(const rgb_pixel* in, long inr, long inc, long in_stride, rgb_pixel* out, long onr, long onc,
                  long out_stride) {
	if (onr <= 0 || onc <= 0 || inr <= 0 || inc <= 0) return;
	const double xs = double(inc - 1) / double(std::max<long>(onc - 1, 1));
	const double ys = double(inr - 1) / double(std::max<long>(onr - 1, 1));
	// Per output column: 3 * its left source pixel, and the weights of the
	// left and right pixels (of 32768) for the lanes r g b r' g' b' - -.
	std::vector<int32_t> xo(static_cast<size_t>(onc));
	std::vector<int16_t> wx(static_cast<size_t>(8 * onc));
	for (long c = 0; c < onc; ++c) {
		const double x = double(c) * xs;
		long l = long(std::floor(x));
		double f = x - double(l);
		if (l >= inc - 1) {
			l = std::max<long>(inc - 2, 0);
			f = inc > 1 ? 1.0 : 0.0;
		}
		xo[size_t(c)] = int32_t(3 * l);
		const int w1 = int(std::lround(f * 32768)), w0 = 32768 - w1;
		int16_t* wc = &wx[size_t(8 * c)];
		wc[0] = wc[1] = wc[2] = int16_t(uint16_t(w0));
		wc[3] = wc[4] = wc[5] = int16_t(uint16_t(w1));
		wc[6] = wc[7] = 0;
	}
	const long n = 3 * inc;
	// tmp is one row blended vertically (pixel * 256), plus slack for the
	// 8-lane loads of the last pixels.
	std::vector<uint16_t> tmp(static_cast<size_t>(n + 8), 0);
	for (long r = 0; r < onr; ++r) {
		const double y = double(r) * ys;
		const long t = std::min(long(std::floor(y)), inr - 1);
		const long b = std::min(t + 1, inr - 1);
		const uint32_t wb = uint32_t(std::lround((y - double(t)) * 256));
		const unsigned char* top = reinterpret_cast<const unsigned char*>(in + t * in_stride);
		const unsigned char* bot = reinterpret_cast<const unsigned char*>(in + b * in_stride);
		uint16_t* tp = tmp.data();
		if (wb == 0 || t == b) {
			for (long i = 0; i < n; ++i) tp[i] = uint16_t(top[i] << 8);
		} else if (wb >= 256) {
			for (long i = 0; i < n; ++i) tp[i] = uint16_t(bot[i] << 8);
		} else {
			const uint16_t a = uint16_t(256 - wb), w = uint16_t(wb);
			for (long i = 0; i < n; ++i) tp[i] = uint16_t(top[i] * a + bot[i] * w);
		}
		unsigned char* o = reinterpret_cast<unsigned char*>(out + r * out_stride);
		long c = 0;
#ifdef FO_SCAN_AVX2
		// Four pixels at a time, each lane computing one pixel exactly as the
		// SSE2 loop below does (pixels c and c+2 in a, c+1 and c+3 in b).
		// The 12 bytes go out in two 8-byte stores, each writing 2 bytes of
		// the next pixel that the next store overwrites: the loop stops
		// while pixel c+4 is still in the row, and the loop below writes it.
		const __m256i one = _mm256_set1_epi16(1);
		const __m256i pick = _mm256_setr_epi8(0, 1, 2, 8, 9, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, 2, 8, 9,
		                                      10, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
		auto two = [&](const uint16_t* p, const int16_t* q, long c0, long c1) {
			const __m256i v =
			    _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + xo[size_t(c0)]))),
			                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + xo[size_t(c1)])), 1);
			const __m256i w =
			    _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 8 * c0))),
			                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 8 * c1)), 1);
			__m256i x = _mm256_mulhi_epu16(v, w);
			x = _mm256_add_epi16(x, _mm256_srli_si256(x, 6));
			return _mm256_srli_epi16(_mm256_add_epi16(x, one), 7);
		};
		for (; c + 5 <= onc; c += 4) {
			const __m256i a = two(tp, wx.data(), c, c + 2), b = two(tp, wx.data(), c + 1, c + 3);
			const __m256i px = _mm256_shuffle_epi8(_mm256_packus_epi16(a, b), pick);
			_mm_storel_epi64(reinterpret_cast<__m128i*>(o + 3 * c), _mm256_castsi256_si128(px));
			_mm_storel_epi64(reinterpret_cast<__m128i*>(o + 3 * c + 6), _mm256_extracti128_si256(px, 1));
		}
#endif
		for (; c < onc; ++c) {
			// Lanes: left r g b, right r g b (pixel * 256), weighted into
			// pixel * 128, left and right summed, truncated.
			const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tp + xo[size_t(c)]));
			const __m128i wc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&wx[size_t(8 * c)]));
			__m128i p = _mm_mulhi_epu16(v, wc);
			p = _mm_add_epi16(p, _mm_srli_si128(p, 6));
			// The truncations above lose up to 2/128: add 1/128 back.
			p = _mm_srli_epi16(_mm_add_epi16(p, _mm_set1_epi16(1)), 7);
			const uint32_t px = uint32_t(_mm_cvtsi128_si32(_mm_packus_epi16(p, p)));
			o[3 * c + 0] = (unsigned char)px;
			o[3 * c + 1] = (unsigned char)(px >> 8);
			o[3 * c + 2] = (unsigned char)(px >> 16);
		}
	}
}

// pyramid_offset is the number of pyramid steps the image the detector
// scans was already reduced by (see detector_offset); fast_pyramid_down6
// maps detections up through those steps too, so they come out in the
// coordinates of the full-size image, rounded once, exactly as a
// full-size scan's pyramid maps them. Set it with offset_scope only.
thread_local unsigned pyramid_offset = 0;

// offset_scope sets pyramid_offset for one scan.
struct offset_scope {
	explicit offset_scope(unsigned k) { pyramid_offset = k; }
	~offset_scope() { pyramid_offset = 0; }
	offset_scope(const offset_scope&) = delete;
	offset_scope& operator=(const offset_scope&) = delete;
};

// detector_offset is the pyramid_offset of a scan of an image reduced by
// levels pyramid steps (scan_image) and padded by pad: the levels, unless
// a border was added (the detections are then mapped back by the caller).
unsigned detector_offset(int levels, long pad) { return levels > 0 && pad == 0 ? unsigned(levels) : 0; }

// fast_pyramid_down6 is dlib's pyramid_down<6> (the HOG detector's image
// pyramid: same level sizes, same point_up/point_down/rect_down) with
// bilinear_rgb as its resize, and a rect_up that adds pyramid_offset
// levels. The detector's serialized form does not name its pyramid, so
// dlib's frontal_face_detector loads into
// object_detector<scan_fhog_pyramid<fast_pyramid_down6>> as is.
class fast_pyramid_down6 : public pyramid_down<6> {
public:
	drectangle rect_up(const drectangle& rect) const { return rect_up(rect, 1); }
	drectangle rect_up(const drectangle& rect, unsigned int levels) const {
		return pyramid_down<6>::rect_up(rect, levels + pyramid_offset);
	}

	template <typename in_image_type, typename out_image_type>
	void operator()(const in_image_type& original, out_image_type& down) const {
		static_assert(sizeof(typename image_traits<in_image_type>::pixel_type) == 3 &&
		                  sizeof(typename image_traits<out_image_type>::pixel_type) == 3,
		              "fast_pyramid_down6 resizes packed RGB only");
		set_image_size(down, (5 * num_rows(original)) / 6, (5 * num_columns(original)) / 6);
		const_image_view<in_image_type> in(original);
		image_view<out_image_type> out(down);
		if (out.size() == 0 || in.size() == 0) return;
		const long is = in.nr() > 1 ? long(&in[1][0] - &in[0][0]) : in.nc();
		const long os = out.nr() > 1 ? long(&out[1][0] - &out[0][0]) : out.nc();
		bilinear_rgb(reinterpret_cast<const rgb_pixel*>(&in[0][0]), in.nr(), in.nc(), is,
		             reinterpret_cast<rgb_pixel*>(&out[0][0]), out.nr(), out.nc(), os);
	}
};

// copy_image copies the w x h image src into out.
void copy_image(const rgb_pixel* src, long w, long h, image_t& out) {
	out.set_size(h, w);
	std::memcpy(&out(0, 0), src, sizeof(rgb_pixel) * size_t(w) * size_t(h));
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

// scan_image returns the image to scan for faces: the w x h image src
// reduced by levels steps of the HOG pyramid (fast_pyramid_down6) when
// levels > 0, else resized by scale (pyramid_up for an exact 2x, as
// face_recognition's upsampling does; resample otherwise), then padded by
// pad pixels. whole, when not null, is src as an image_t (scanned as is at
// scale 1 without a copy); a, b and c hold the copies made.
const image_t* scan_image(const rgb_pixel* src, long w, long h, const image_t* whole, double scale, int levels,
                          long pad, image_t& a, image_t& b, image_t& c) {
	const image_t* cur = whole;
	if (levels > 0) {
		const rgb_pixel* p = src;
		long pw = w, ph = h;
		image_t* dst = &a;
		image_t* other = &c;
		for (int i = 0; i < levels && (5 * pw) / 6 > 0 && (5 * ph) / 6 > 0; ++i) {
			const long nw = (5 * pw) / 6, nh = (5 * ph) / 6;
			dst->set_size(nh, nw);
			bilinear_rgb(p, ph, pw, pw, &(*dst)(0, 0), nh, nw, nw);
			p = &(*dst)(0, 0);
			pw = nw;
			ph = nh;
			cur = dst;
			std::swap(dst, other);
		}
		if (!cur) {
			copy_image(src, w, h, a);
			cur = &a;
		}
	} else if (scale == 2.0) {
		if (!cur) {
			copy_image(src, w, h, c);
			cur = &c;
		}
		pyramid_up(*cur, a, pyramid_down<2>());
		cur = &a;
	} else if (scale != 1.0) {
		long nw = std::max(1L, long(w * scale + 0.5));
		long nh = std::max(1L, long(h * scale + 0.5));
		resample(src, w, h, nw, nh, a);
		cur = &a;
	} else if (!cur) {
		copy_image(src, w, h, a);
		cur = &a;
	}
	if (pad > 0) {
		padded(*cur, pad, b);
		cur = &b;
	}
	return cur;
}
