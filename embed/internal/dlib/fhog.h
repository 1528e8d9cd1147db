// FHOG features for the HOG face scan, bit for bit dlib's
// extract_fhog_features on RGB images, faster. This file is included,
// inside an anonymous namespace, by hog_avx2.cc only (after fhog_grad.h).
//
// dlib snaps each pixel's gradient to one of 18 orientations by comparing
// its dot products with 9 unit vectors, eight pixels at a time: about 80
// vector instructions per 8 pixels, a third of the feature extraction.
// The gradient of an 8-bit image is a pair of integers in [-255, 255], so
// fhog_features looks the orientation up in a table of all 511 x 511
// pairs, built once by the same float arithmetic dlib's compiled code does
// (its dot products are rounded products added, the pairs of mirrored
// directions sharing their products: read from the disassembly of dlib's
// loop) with the same tie-breaking.
//
// dlib then adds each pixel's four bilinear votes into four histograms,
// one float at a time. fhog_features keeps the two rows of cells a pixel
// row votes into side by side, bin-major, so that the four votes are four
// adjacent floats added by one vector add, and computes the per-column
// weights once per image instead of once per row. Everything else —
// gradients, the bilinear votes, the order in which votes are added into
// each cell's histogram bin, normalisation and features — is the same
// arithmetic as dlib's, so the features are dlib's to the bit
// (TestFHOGMatchesDlib, on photos and on random images that reach most
// gradient pairs).

// rounded_product is a*b rounded to float: the empty asm keeps the
// compiler from fusing the product into an add that follows (C++ allows
// it, and GCC does it where it can), for code that must add a product
// rounded where dlib's compiled code does (here and in filters.h).
inline __m256 rounded_product(__m256 a, __m256 b) {
	__m256 p = _mm256_mul_ps(a, b);
	__asm__("" : "+x"(p));
	return p;
}

// fhog_orientations is the orientation bin (0..17) of every integer
// gradient (gx, gy), at (gy+255)*511 + gx+255.
class fhog_orientations {
public:
	static const fhog_orientations& get() {
		static const fhog_orientations t;
		return t;
	}
	uint8_t operator()(int gx, int gy) const { return bin_[size_t((gy + 255) * 511 + gx + 255)]; }
	// center points at the bin of (0, 0): center()[gy*511 + gx] is the
	// bin of (gx, gy).
	const uint8_t* center() const { return bin_.data() + 255 * 511 + 255; }

private:
	fhog_orientations() : bin_(511 * 511) {
		// dlib's unit vectors (impl_extract_fhog_features), as floats.
		const float a[5] = {1.0f, float(0.9397), float(0.7660), float(0.5000), float(0.1736)};
		const float b[5] = {0.0f, float(0.3420), float(0.6428), float(0.8660), float(0.9848)};
		for (int gy = -255; gy <= 255; ++gy) {
			for (int gx = -255; gx <= 255; ++gx) {
				// dot[o] for direction o; o and 9-o mirror each other
				// (a -> -a): dlib's compiled loop computes P = gx*a and
				// Q = gy*b once, rounded, then Q+P and Q-P; direction 0 is gx.
				float dot[9];
				dot[0] = float(gx);
				for (int o = 1; o <= 4; ++o) {
					float p = float(gx) * a[o], q = float(gy) * b[o];
					__asm__("" : "+x"(p), "+x"(q));  // keep the products rounded
					dot[o] = q + p;
					dot[9 - o] = q - p;
				}
				// dlib's selection: each direction, then its opposite, taken
				// when strictly better.
				float best = 0;
				int best_o = 0;
				for (int o = 0; o < 9; ++o) {
					if (dot[o] > best) {
						best = dot[o];
						best_o = o;
					}
					if (-dot[o] > best) {
						best = -dot[o];
						best_o = o + 9;
					}
				}
				bin_[size_t((gy + 255) * 511 + gx + 255)] = uint8_t(best_o);
			}
		}
	}
	std::vector<uint8_t> bin_;
};

// fhog_features is dlib::extract_fhog_features(img, hog, cell_size,
// filter_rows_padding, filter_cols_padding) for an RGB image and
// cell_size > 1.
template <typename image_type>
void fhog_features(const image_type& img_, dlib::array<array2d<float>>& hog, int cell_size, int filter_rows_padding,
                   int filter_cols_padding) {
	const const_image_view<image_type> img(img_);
	// tab[gy*511 + gx]: the orientation bin of the gradient (gx, gy).
	const uint8_t* const tab = fhog_orientations::get().center();
	matrix<float, 2, 1> directions[9];
	directions[0] = 1.0000, 0.0000;
	directions[1] = 0.9397, 0.3420;
	directions[2] = 0.7660, 0.6428;
	directions[3] = 0.500, 0.8660;
	directions[4] = 0.1736, 0.9848;
	directions[5] = -0.1736, 0.9848;
	directions[6] = -0.5000, 0.8660;
	directions[7] = -0.7660, 0.6428;
	directions[8] = -0.9397, 0.3420;

	const int cells_nr = (int)((float)img.nr() / (float)cell_size + 0.5);
	const int cells_nc = (int)((float)img.nc() / (float)cell_size + 0.5);
	if (cells_nr == 0 || cells_nc == 0) {
		hog.clear();
		hog.resize(31);  // as dlib's extract_fhog_features: 31 empty planes
		return;
	}
	// The cells' histograms, bin-major: bin o of cell (r, c) is
	// hb[(o*cells_nr + r)*cells_nc + c]. (dlib's have a border of one cell
	// all around, whose votes are never read: here they are dropped.)
	const long plane = long(cells_nr) * cells_nc;
	std::vector<float> hb(size_t(18 * plane));
	array2d<float> norm(cells_nr, cells_nc);

	const int hog_nr = std::max(cells_nr - 2, 0);
	const int hog_nc = std::max(cells_nc - 2, 0);
	if (hog_nr == 0 || hog_nc == 0) {
		hog.clear();
		hog.resize(31);  // as dlib's extract_fhog_features: 31 empty planes
		return;
	}
	const int padding_rows_offset = (filter_rows_padding - 1) / 2;
	const int padding_cols_offset = (filter_cols_padding - 1) / 2;
	dlib::impl_fhog::init_hog(hog, hog_nr, hog_nc, filter_rows_padding, filter_cols_padding);

	const int visible_nr = std::min((long)cells_nr * cell_size, img.nr()) - 1;
	const int visible_nc = std::min((long)cells_nc * cell_size, img.nc()) - 1;

	// A pixel row's votes go to two rows of cells (iyp+1 and iyp+2) and
	// two columns (ixp+1 and ixp+2). They are added in pair, which holds
	// those two cell rows bin by bin, cell by cell, the two rows side by
	// side: pair[o*S + 2*c + j] is bin o of cell c of row row0+j. A
	// pixel's four votes are then four adjacent floats, added by one
	// vector add. Every bin of every cell still receives its votes one by
	// one in dlib's order, so the sums are dlib's. When iyp moves on, row
	// row0 is complete: it goes to hb, and row0+1 takes its place.
	const long S = 2 * (long(cells_nc) + 2);
	std::vector<float> pair(size_t(18 * S), 0.0f);
	float* const P = pair.data();
	int row0 = 0;
	auto flush = [&](int j, int r) {
		if (r < 1 || r > cells_nr) return;  // the border
		for (int o = 0; o < 18; ++o) {
			const float* src = P + o * S + 2 + j;
			float* dst = &hb[size_t((o * cells_nr + r - 1) * cells_nc)];
			for (long c = 0; c < cells_nc; ++c) dst[c] = src[2 * c];
		}
	};
	// The column weights and offsets in pair of the vector loop's
	// pixels, which do not depend on the row, computed as dlib computes
	// them 8 columns at a time.
	const long vec_cols = visible_nc > 8 ? (visible_nc - 1) / 8 * 8 : 0;
	std::vector<float> col_vx0(static_cast<size_t>(vec_cols)), col_vx1(static_cast<size_t>(vec_cols));
	std::vector<int32> col_off(static_cast<size_t>(vec_cols));
	for (long x = 1; x < visible_nc - 7; x += 8) {
		const simd8f xx(x, x + 1, x + 2, x + 3, x + 4, x + 5, x + 6, x + 7);
		const simd8f xp = (xx + 0.5) / (float)cell_size + 0.5;
		const simd8i ixp = simd8i(xp);  // ixp+1 in dlib's scalar terms
		const simd8f vx0 = xp - ixp;
		const simd8f vx1 = 1.0f - vx0;
		vx0.store(&col_vx0[size_t(x - 1)]);
		vx1.store(&col_vx1[size_t(x - 1)]);
		(ixp + ixp).store(&col_off[size_t(x - 1)]);
	}
	for (int y = 1; y < visible_nr; y++) {
		const float yp = ((float)y + 0.5) / (float)cell_size - 0.5;
		const int iyp = (int)std::floor(yp);
		const float vy0 = yp - iyp;
		const float vy1 = 1.0 - vy0;
		while (iyp + 1 > row0) {
			flush(0, row0);
			for (long i = 0; i < 18 * S; i += 2) {
				P[i] = P[i + 1];
				P[i + 1] = 0;
			}
			++row0;
		}
		int x;
		for (x = 1; x < visible_nc - 7; x += 8) {
			simd8i gx, gy, len;
			fo_gradient8(y, x, img, gx, gy, len);  // fhog_grad.h
			simd8f v = len;
			simd8f vx0, vx1;
			vx0.load(&col_vx0[size_t(x - 1)]);
			vx1.load(&col_vx1[size_t(x - 1)]);
			v = sqrt(v);
			vx1 *= v;
			vx0 *= v;
			const simd8f v11 = vy1 * vx1, v01 = vy0 * vx1, v10 = vy1 * vx0, v00 = vy0 * vx0;

			alignas(32) int32 idx[8];
			((gy << 9) - gy + gx).store(idx);  // gy*511 + gx
			// votes + 8*(k%4) + 4*(k/4): pixel k's (v11, v01, v10, v00), in
			// pair's order (row0 and row0+1 of cell ixp+1, then of ixp+2).
			alignas(32) float votes[32];
			const __m256 t0 = _mm256_unpacklo_ps(v11, v01), t1 = _mm256_unpackhi_ps(v11, v01);
			const __m256 t2 = _mm256_unpacklo_ps(v10, v00), t3 = _mm256_unpackhi_ps(v10, v00);
			_mm256_store_ps(votes, _mm256_shuffle_ps(t0, t2, 0x44));
			_mm256_store_ps(votes + 8, _mm256_shuffle_ps(t0, t2, 0xEE));
			_mm256_store_ps(votes + 16, _mm256_shuffle_ps(t1, t3, 0x44));
			_mm256_store_ps(votes + 24, _mm256_shuffle_ps(t1, t3, 0xEE));
			const int32* off = &col_off[size_t(x - 1)];
			for (int k = 0; k < 8; ++k) {
				float* p = P + tab[idx[k]] * S + off[k];
				_mm_storeu_ps(p, _mm_add_ps(_mm_loadu_ps(p), _mm_load_ps(votes + 8 * (k & 3) + 4 * (k >> 2))));
			}
		}
		// The last columns: dlib's scalar code (its gradient breaks ties
		// between channels the other way, and its dot products are its own).
		for (; x < visible_nc; x++) {
			matrix<float, 2, 1> grad;
			float v;
			dlib::impl_fhog::get_gradient(y, x, img, grad, v);
			float best_dot = 0;
			int best_o = 0;
			for (int o = 0; o < 9; o++) {
				const float dot = dlib::dot(directions[o], grad);
				if (dot > best_dot) {
					best_dot = dot;
					best_o = o;
				} else if (-dot > best_dot) {
					best_dot = -dot;
					best_o = o + 9;
				}
			}
			v = std::sqrt(v);
			const float xp = ((double)x + 0.5) / (double)cell_size - 0.5;
			const int ixp = (int)std::floor(xp);
			const float vx0 = xp - ixp;
			const float vx1 = 1.0 - vx0;
			float* p = P + best_o * S + 2 * (ixp + 1);
			p[0] += vy1 * vx1 * v;
			p[1] += vy0 * vx1 * v;
			p[2] += vy1 * vx0 * v;
			p[3] += vy0 * vx0 * v;
		}
	}
	flush(0, row0);
	flush(1, row0 + 1);

	// Energy of each cell, over the orientations: 8 cells at a time. The
	// compiler fuses dlib's products into its adds (norm += s*s): these
	// are the same fused multiply-adds in the same order.
	const auto h = [&](int o, long r, long c) -> const float* { return &hb[size_t((o * cells_nr + r) * cells_nc + c)]; };
	for (long r = 0; r < cells_nr; ++r) {
		long c = 0;
		for (; c + 8 <= cells_nc; c += 8) {
			__m256 e = _mm256_setzero_ps();
			for (int o = 0; o < 9; o++) {
				const __m256 a = _mm256_add_ps(_mm256_loadu_ps(h(o, r, c)), _mm256_loadu_ps(h(o + 9, r, c)));
				e = _mm256_fmadd_ps(a, a, e);
			}
			_mm256_storeu_ps(&norm[r][c], e);
		}
		for (; c < cells_nc; ++c) {
			float e = 0;
			for (int o = 0; o < 9; o++) {
				const float a = *h(o, r, c) + *h(o + 9, r, c);
				e = std::fma(a, a, e);
			}
			norm[r][c] = e;
		}
	}

	// The features of 8 cells at a time, one cell per lane. dlib
	// computes a cell's four block normalisations in the four lanes of a
	// simd4f (nn and n below) and adds them up with a dot product with
	// (1, 1, 1, 1), which adds lanes (0+1) + (2+3): block j is vector j
	// here (nnv[j], nv[j]), and the sums are added in that order.
	const float eps = 0.0001;
	const float k02 = 0.2, k01 = 0.1, ktex = 2 * 0.2357;
	const long vec_cells = hog_nc / 8 * 8;
	for (int y = 0; y < hog_nr; y++) {
		const int yy = y + padding_rows_offset;
		const float* n0 = &norm[y][0];
		const float* n1 = &norm[y + 1][0];
		const float* n2 = &norm[y + 2][0];
		for (long x = 0; x < vec_cells; x += 8) {
			// dlib's z1..z4, block by block: block 0 is (y+1, x+1) (y+1,
			// x+2) (y+2, x+1) (y+2, x+2), block 1 the same a row up, block
			// 2 a column left, block 3 both.
			const float* zr[4][2] = {{n1, n2}, {n0, n1}, {n1, n2}, {n0, n1}};
			const long zc[4] = {x + 1, x + 1, x, x};
			__m256 nnv[4], nv[4], t[4];
			for (int j = 0; j < 4; ++j) {
				const __m256 z1 = _mm256_loadu_ps(zr[j][0] + zc[j]);
				const __m256 z2 = _mm256_loadu_ps(zr[j][0] + zc[j] + 1);
				const __m256 z3 = _mm256_loadu_ps(zr[j][1] + zc[j]);
				const __m256 z4 = _mm256_loadu_ps(zr[j][1] + zc[j] + 1);
				const __m256 z = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(z1, z2), z3), z4),
				                               _mm256_set1_ps(eps));
				nnv[j] = _mm256_mul_ps(_mm256_set1_ps(k02), _mm256_sqrt_ps(z));
				nv[j] = _mm256_div_ps(_mm256_set1_ps(k01), nnv[j]);
				t[j] = _mm256_setzero_ps();
			}
			const long xx = x + padding_cols_offset;
			// feature stores sum over the blocks of min(hv, nn)*n in hog[o]
			// and returns those four products.
			auto feature = [&](int o, __m256 hv, __m256 q[4]) {
				for (int j = 0; j < 4; ++j) q[j] = rounded_product(_mm256_min_ps(hv, nnv[j]), nv[j]);
				_mm256_storeu_ps(&hog[o][yy][xx], _mm256_add_ps(_mm256_add_ps(q[0], q[1]), _mm256_add_ps(q[2], q[3])));
			};
			// Contrast-sensitive features.
			for (int o = 0; o < 18; o += 3) {
				__m256 q0[4], q1[4], q2[4];
				feature(o, _mm256_loadu_ps(h(o, y + 1, x + 1)), q0);
				feature(o + 1, _mm256_loadu_ps(h(o + 1, y + 1, x + 1)), q1);
				feature(o + 2, _mm256_loadu_ps(h(o + 2, y + 1, x + 1)), q2);
				for (int j = 0; j < 4; ++j) t[j] = _mm256_add_ps(t[j], _mm256_add_ps(_mm256_add_ps(q0[j], q1[j]), q2[j]));
			}
			// Contrast-insensitive features.
			for (int o = 0; o < 9; ++o) {
				__m256 q[4];
				feature(o + 18,
				        _mm256_add_ps(_mm256_loadu_ps(h(o, y + 1, x + 1)), _mm256_loadu_ps(h(o + 9, y + 1, x + 1))), q);
			}
			// Texture features.
			for (int j = 0; j < 4; ++j) _mm256_storeu_ps(&hog[27 + j][yy][xx], _mm256_mul_ps(t[j], _mm256_set1_ps(ktex)));
		}
		// The last cells: dlib's code.
		for (long x = vec_cells; x < hog_nc; x++) {
			const simd4f z1(norm[y + 1][x + 1], norm[y][x + 1], norm[y + 1][x], norm[y][x]);
			const simd4f z2(norm[y + 1][x + 2], norm[y][x + 2], norm[y + 1][x + 1], norm[y][x + 1]);
			const simd4f z3(norm[y + 2][x + 1], norm[y + 1][x + 1], norm[y + 2][x], norm[y + 1][x]);
			const simd4f z4(norm[y + 2][x + 2], norm[y + 1][x + 2], norm[y + 2][x + 1], norm[y + 1][x + 1]);
			const simd4f nn = 0.2 * sqrt(z1 + z2 + z3 + z4 + eps);
			const simd4f n = 0.1 / nn;
			simd4f t = 0;
			const long xx = x + padding_cols_offset;
			const auto hc = [&](int o) { return *h(o, y + 1, x + 1); };
			// Contrast-sensitive features.
			for (int o = 0; o < 18; o += 3) {
				simd4f temp0(hc(o));
				simd4f temp1(hc(o + 1));
				simd4f temp2(hc(o + 2));
				simd4f h0 = min(temp0, nn) * n;
				simd4f h1 = min(temp1, nn) * n;
				simd4f h2 = min(temp2, nn) * n;
				hog[o][yy][xx] = sum(h0);
				hog[o + 1][yy][xx] = sum(h1);
				hog[o + 2][yy][xx] = sum(h2);
				t += h0 + h1 + h2;
			}
			t *= 2 * 0.2357;
			// Contrast-insensitive features.
			for (int o = 0; o < 9; o += 3) {
				simd4f temp0 = hc(o) + hc(o + 9);
				simd4f temp1 = hc(o + 1) + hc(o + 9 + 1);
				simd4f temp2 = hc(o + 2) + hc(o + 9 + 2);
				simd4f h0 = min(temp0, nn) * n;
				simd4f h1 = min(temp1, nn) * n;
				simd4f h2 = min(temp2, nn) * n;
				hog[o + 18][yy][xx] = sum(h0);
				hog[o + 18 + 1][yy][xx] = sum(h1);
				hog[o + 18 + 2][yy][xx] = sum(h2);
			}
			// Texture features.
			float temp[4];
			t.store(temp);
			hog[27][yy][xx] = temp[0];
			hog[28][yy][xx] = temp[1];
			hog[29][yy][xx] = temp[2];
			hog[30][yy][xx] = temp[3];
		}
	}
}
