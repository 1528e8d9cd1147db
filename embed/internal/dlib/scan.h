// Resampling and padding of the image scanned for faces. This file is
// included, inside an anonymous namespace, by both facedlib.cc (portable
// code) and hog_avx2.cc (AVX2 code, where `dlib` names another namespace):
// each translation unit gets its own internal copy, so the two builds of
// these functions can never be mixed up by the linker. The includer
// provides image_t (a dlib matrix of rgb_pixel) and pyramid_up.

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
// (see taps), one output row at a time (memory: one float row of the
// source).
void resample(const rgb_pixel* src, long w, long h, long nw, long nh, image_t& out) {
	const taps tx = make_taps(w, nw), ty = make_taps(h, nh);
	out.set_size(nh, nw);
	std::vector<float> row(size_t(w) * 3);
	for (long y = 0; y < nh; ++y) {
		std::fill(row.begin(), row.end(), 0.0f);
		const float* wy = &ty.w[size_t(y * ty.n)];
		for (long k = 0; k < ty.n; ++k) {
			const float wk = wy[k];
			if (wk == 0) continue;
			const unsigned char* s = reinterpret_cast<const unsigned char*>(src + (ty.start[size_t(y)] + k) * w);
			float* r = row.data();
			for (long i = 0; i < w * 3; ++i) r[i] += wk * float(s[i]);
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
// resized by scale (pyramid_up for an exact 2x, as face_recognition's
// upsampling does; resample otherwise), then padded by pad pixels. whole,
// when not null, is src as an image_t (scanned as is at scale 1 without a
// copy); a, b and c hold the copies made.
const image_t* scan_image(const rgb_pixel* src, long w, long h, const image_t* whole, double scale, long pad,
                          image_t& a, image_t& b, image_t& c) {
	const image_t* cur = whole;
	if (scale == 2.0) {
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
