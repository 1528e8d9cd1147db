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
// loop) with the same tie-breaking. Everything else — gradients, the
// bilinear votes, the order in which votes are added into each cell's
// histogram, normalisation and features — is the same arithmetic as
// dlib's, so the features are dlib's to the bit (TestFHOGMatchesDlib, on
// photos and on random images that reach most gradient pairs).

// fhog_orientations is the orientation bin (0..17) of every integer
// gradient (gx, gy), at (gy+255)*511 + gx+255.
class fhog_orientations {
public:
	static const fhog_orientations& get() {
		static const fhog_orientations t;
		return t;
	}
	uint8_t operator()(int gx, int gy) const { return bin_[size_t((gy + 255) * 511 + gx + 255)]; }

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
	const fhog_orientations& orient = fhog_orientations::get();
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
	// Histograms with a border of one cell all around (votes that land
	// there are never read).
	array2d<matrix<float, 18, 1>> hist(cells_nr + 2, cells_nc + 2);
	for (long r = 0; r < hist.nr(); ++r)
		for (long c = 0; c < hist.nc(); ++c) hist[r][c] = 0;
	array2d<float> norm(cells_nr, cells_nc);
	assign_all_pixels(norm, 0);

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

	for (int y = 1; y < visible_nr; y++) {
		const float yp = ((float)y + 0.5) / (float)cell_size - 0.5;
		const int iyp = (int)std::floor(yp);
		const float vy0 = yp - iyp;
		const float vy1 = 1.0 - vy0;
		matrix<float, 18, 1>* h1 = &hist[iyp + 1][0];
		matrix<float, 18, 1>* h2 = &hist[iyp + 1 + 1][0];
		int x;
		for (x = 1; x < visible_nc - 7; x += 8) {
			simd8f xx(x, x + 1, x + 2, x + 3, x + 4, x + 5, x + 6, x + 7);
			simd8i gx, gy, len;
			fo_gradient8(y, x, img, gx, gy, len);  // fhog_grad.h
			simd8f v = len;

			simd8f xp = (xx + 0.5) / (float)cell_size + 0.5;
			simd8i ixp = simd8i(xp);
			simd8f vx0 = xp - ixp;
			simd8f vx1 = 1.0f - vx0;
			v = sqrt(v);
			vx1 *= v;
			vx0 *= v;
			const simd8f v11 = vy1 * vx1, v01 = vy0 * vx1, v10 = vy1 * vx0, v00 = vy0 * vx0;

			int32 _gx[8], _gy[8], _ixp[8];
			float _v11[8], _v01[8], _v10[8], _v00[8];
			gx.store(_gx);
			gy.store(_gy);
			ixp.store(_ixp);
			v11.store(_v11);
			v01.store(_v01);
			v10.store(_v10);
			v00.store(_v00);
			for (int k = 0; k < 8; ++k) {
				const int o = orient(_gx[k], _gy[k]);
				const int c = _ixp[k];
				h1[c](o) += _v11[k];
				h2[c](o) += _v01[k];
				h1[c + 1](o) += _v10[k];
				h2[c + 1](o) += _v00[k];
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
			hist[iyp + 1][ixp + 1](best_o) += vy1 * vx1 * v;
			hist[iyp + 1 + 1][ixp + 1](best_o) += vy0 * vx1 * v;
			hist[iyp + 1][ixp + 1 + 1](best_o) += vy1 * vx0 * v;
			hist[iyp + 1 + 1][ixp + 1 + 1](best_o) += vy0 * vx0 * v;
		}
	}

	// Energy of each cell, over the orientations.
	for (int r = 0; r < cells_nr; ++r) {
		for (int c = 0; c < cells_nc; ++c) {
			for (int o = 0; o < 9; o++) {
				norm[r][c] += (hist[r + 1][c + 1](o) + hist[r + 1][c + 1](o + 9)) *
				              (hist[r + 1][c + 1](o) + hist[r + 1][c + 1](o + 9));
			}
		}
	}

	const float eps = 0.0001;
	for (int y = 0; y < hog_nr; y++) {
		const int yy = y + padding_rows_offset;
		for (int x = 0; x < hog_nc; x++) {
			const simd4f z1(norm[y + 1][x + 1], norm[y][x + 1], norm[y + 1][x], norm[y][x]);
			const simd4f z2(norm[y + 1][x + 2], norm[y][x + 2], norm[y + 1][x + 1], norm[y][x + 1]);
			const simd4f z3(norm[y + 2][x + 1], norm[y + 1][x + 1], norm[y + 2][x], norm[y + 1][x]);
			const simd4f z4(norm[y + 2][x + 2], norm[y + 1][x + 2], norm[y + 2][x + 1], norm[y + 1][x + 1]);
			const simd4f nn = 0.2 * sqrt(z1 + z2 + z3 + z4 + eps);
			const simd4f n = 0.1 / nn;
			simd4f t = 0;
			const int xx = x + padding_cols_offset;
			const matrix<float, 18, 1>& h = hist[y + 1 + 1][x + 1 + 1];
			// Contrast-sensitive features.
			for (int o = 0; o < 18; o += 3) {
				simd4f temp0(h(o));
				simd4f temp1(h(o + 1));
				simd4f temp2(h(o + 2));
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
				simd4f temp0 = h(o) + h(o + 9);
				simd4f temp1 = h(o + 1) + h(o + 9 + 1);
				simd4f temp2 = h(o + 2) + h(o + 9 + 2);
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
