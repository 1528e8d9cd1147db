// Fused separable filtering for the HOG face scan. This file is included,
// inside an anonymous namespace and after scan.h and fhog.h, by
// hog_avx2.cc only.
//
// dlib's frontal face detector scores every window of every pyramid level
// with 5 detectors, each a 10x10 filter on every one of the 31 FHOG planes,
// applied as separable (rank-one) parts: 305 parts in all. dlib applies the
// parts one at a time (apply_filters_to_fhog, then
// float_spatially_filter_image_separable): a row pass over the whole plane
// into a scratch image, then a column pass adding into the detector's
// saliency image, reloading and broadcasting every filter tap at every
// use. That was a quarter of the CPU time of a photo at MinFaceSize 120.
//
// sep_filters does the same arithmetic in the same order for every output
// value (the same partial sums, the same fused multiply-adds, the parts
// added in dlib's order), so saliencies — and the detections and scores
// taken from them — are bit for bit dlib's (TestFusedFiltersMatchDlib),
// but it holds the taps in registers and keeps each part's row pass in a
// ring of N rows that the column pass reads while they are still in cache,
// one row of the level at a time, for all detectors at once.

// sep_part is one separable part of one plane's filter.
template <long N>
struct sep_part {
	unsigned long det;  // the detector it belongs to
	bool first;         // its detector's first part (dlib's add_to == false)
	float row[N];
	float col[N];
};

// The last columns of a row (fewer than 8) are dlib's scalar loops. The
// compiler vectorizes those (their length is only known at run time): the
// products of the first taps, in groups of 4 or 8, are rounded and added
// one by one; the last N%4 go through fused multiply-adds. sep_row_tail
// and sep_col_tail compute that, one column per lane (masked loads: no
// read beyond the row), so the sums are dlib's to the bit
// (TestFusedFiltersMatchDlib: plain fused multiply-adds move a score by
// 2e-7).

// The rounded products come from rounded_product (fhog.h, included
// before this file).

// tail_mask enables the first n lanes.
inline __m256i tail_mask(long n) {
	return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// sep_row_tail stores out[k] = sum of in[k+n]*f[n] for k < count.
template <long N>
inline void sep_row_tail(const float* in, long count, const float* f, float* out) {
	constexpr long unfused = N - N % 4;
	const __m256i mask = tail_mask(count);
	__m256 temp = _mm256_setzero_ps();
	for (long n = 0; n < unfused; ++n)
		temp = _mm256_add_ps(temp, rounded_product(_mm256_maskload_ps(in + n, mask), _mm256_set1_ps(f[n])));
	for (long n = unfused; n < N; ++n)
		temp = _mm256_fmadd_ps(_mm256_maskload_ps(in + n, mask), _mm256_set1_ps(f[n]), temp);
	_mm256_maskstore_ps(out, mask, temp);
}

// sep_col_tail stores (or adds to) out[c+k] the sum of s[m][c+k]*f[m], for
// k < count.
template <long N>
inline void sep_col_tail(const float* const* s, long c, long count, const float* f, float* out, bool add) {
	constexpr long unfused = N - N % 4;
	const __m256i mask = tail_mask(count);
	__m256 temp = _mm256_setzero_ps();
	for (long m = 0; m < unfused; ++m)
		temp = _mm256_add_ps(temp, rounded_product(_mm256_maskload_ps(s[m] + c, mask), _mm256_set1_ps(f[m])));
	for (long m = unfused; m < N; ++m)
		temp = _mm256_fmadd_ps(_mm256_maskload_ps(s[m] + c, mask), _mm256_set1_ps(f[m]), temp);
	if (add) temp = _mm256_add_ps(_mm256_maskload_ps(out + c, mask), temp);
	_mm256_maskstore_ps(out + c, mask, temp);
}

// sep_row is dlib's row pass (float_spatially_filter_image_separable) over
// one row of nc values: out[c] for c in [N/2, nc-(N-1)/2).
template <long N>
inline void sep_row(const float* in, long nc, const float* f, float* out) {
	const long first = N / 2, last = nc - (N - 1) / 2;
	simd8f t[N];
	for (long n = 0; n < N; ++n) t[n] = f[n];
	long c = first;
	for (; c < last - 7; c += 8) {
		simd8f p, p2, p3, temp = 0, temp2 = 0, temp3 = 0;
		long n = 0;
		for (; n < N - 2; n += 3) {
			p.load(&in[c - first + n]);
			p2.load(&in[c - first + n + 1]);
			p3.load(&in[c - first + n + 2]);
			temp += p * t[n];
			temp2 += p2 * t[n + 1];
			temp3 += p3 * t[n + 2];
		}
		for (; n < N; ++n) {
			p.load(&in[c - first + n]);
			temp += p * t[n];
		}
		temp += temp2 + temp3;
		temp.store(&out[c]);
	}
	if (c < last) sep_row_tail<N>(&in[c - first], last - c, f, &out[c]);
}

// sep_col is dlib's column pass over one output row: out[c] for c in
// [first, last), from the N scratch rows s (the row pass of the rows
// r-N/2 .. r-N/2+N-1), stored (add false) or added to out.
template <long N>
inline void sep_col(const float* const* s, long first, long last, const float* f, float* out, bool add) {
	simd8f t[N];
	for (long m = 0; m < N; ++m) t[m] = f[m];
	long c = first;
	for (; c < last - 7; c += 8) {
		simd8f p, p2, p3, temp = 0, temp2 = 0, temp3 = 0;
		long m = 0;
		for (; m < N - 2; m += 3) {
			p.load(&s[m][c]);
			p2.load(&s[m + 1][c]);
			p3.load(&s[m + 2][c]);
			temp += p * t[m];
			temp2 += p2 * t[m + 1];
			temp3 += p3 * t[m + 2];
		}
		for (; m < N; ++m) {
			p.load(&s[m][c]);
			temp += p * t[m];
		}
		temp += temp2 + temp3;
		if (!add) {
			temp.store(&out[c]);
		} else {
			p.load(&out[c]);
			temp += p;
			temp.store(&out[c]);
		}
	}
	if (c < last) sep_col_tail<N>(s, c, last - c, f, out, add);
}

// sep_filters runs an object_detector<scan_fhog_pyramid<...>> of N x N
// separable filter banks: the same detections as the detector's
// operator()(img, std::vector<rect_detection>&, adjust), in the same order.
// Its features come from fhog_features (fhog.h), dlib's to the bit.
template <typename detector_type, long N>
class sep_filters {
public:
	// build reads the detector's filter banks. It returns false (use the
	// detector itself) unless every bank is one dlib applies as separable
	// filters (apply_filters_to_fhog's test) and every part has N taps.
	bool build(const detector_type& det) {
		const auto& sc = det.get_scanner();
		const unsigned long np = sc.get_feature_extractor().get_num_planes();
		ndet_ = det.num_detectors();
		if (ndet_ == 0 || sc.get_fhog_window_width() != N || sc.get_fhog_window_height() != N) return false;
		planes_.assign(np, {});
		thresh_.assign(ndet_, 0);
		has_parts_.assign(ndet_, false);
		for (unsigned long d = 0; d < ndet_; ++d) {
			const auto& fb = det.get_processed_w(d).get_detect_argument();
			if (fb.filters.size() != np || fb.row_filters.size() != np || fb.col_filters.size() != np) return false;
			if (double(fb.num_separable_filters()) >
			    double(fb.filters.size()) * double(std::min(fb.filters[0].nr(), fb.filters[0].nc())) / 3.0)
				return false;
			thresh_[d] = det.get_w(d)(sc.get_num_dimensions());
			for (unsigned long i = 0; i < np; ++i) {
				if (fb.row_filters[i].size() != fb.col_filters[i].size()) return false;
				for (unsigned long j = 0; j < fb.row_filters[i].size(); ++j) {
					const auto& rf = fb.row_filters[i][j];
					const auto& cf = fb.col_filters[i][j];
					if (rf.size() != N || cf.size() != N) return false;
					sep_part<N> p;
					p.det = d;
					p.first = !has_parts_[d];
					has_parts_[d] = true;
					for (long k = 0; k < N; ++k) {
						p.row[k] = rf(k);
						p.col[k] = cf(k);
					}
					planes_[i].push_back(p);
				}
			}
		}
		return true;
	}

	// detect is det(img, final_dets, adjust) (object_detector's operator()
	// with scan_fhog_pyramid::load and detect), one pyramid level at a time.
	template <typename image_type>
	void detect(const detector_type& det, const image_type& img, std::vector<rect_detection>& final_dets,
	            double adjust) const {
		typedef typename detector_type::image_scanner_type::pyramid_type pyramid_type;
		static_assert(std::is_same<typename detector_type::image_scanner_type::feature_extractor_type,
		                           default_fhog_feature_extractor>::value,
		              "fhog_features (fhog.h) stands in for the scanner's feature extractor");
		const auto& sc = det.get_scanner();
		const auto& fe = sc.get_feature_extractor();
		const int cell_size = int(sc.get_cell_size());
		const long width = long(sc.get_fhog_window_width()), height = long(sc.get_fhog_window_height());
		const long padding = long(sc.get_padding());
		const unsigned long box_h = height - 2 * padding, box_w = width - 2 * padding;

		// The levels of impl::create_fhog_pyramid.
		pyramid_type pyr;
		unsigned long levels = 0;
		rectangle rect = get_rect(img);
		do {
			rect = pyr.rect_down(rect);
			++levels;
		} while (rect.width() >= sc.get_min_pyramid_layer_width() &&
		         rect.height() >= sc.get_min_pyramid_layer_height() && levels < sc.get_max_pyramid_levels());

		std::vector<std::vector<std::pair<double, rectangle>>> dets(ndet_);
		dlib::array<array2d<float>> feats;
		std::vector<array2d<float>> sal(ndet_);
		std::vector<float> ring;
		typedef typename image_traits<image_type>::pixel_type pixel_type;
		array2d<pixel_type> temp1, temp2;
		for (unsigned long l = 0; l < levels; ++l) {
			if (l == 0) {
				fhog_features(img, feats, cell_size, height, width);
			} else {
				if (l == 1)
					pyr(img, temp1);
				else
					pyr(temp2, temp1);
				fhog_features(temp1, feats, cell_size, height, width);
				swap(temp1, temp2);
			}
			const rectangle area = filter_level(feats, sal, ring);
			for (unsigned long d = 0; d < ndet_; ++d) {
				if (!has_parts_[d]) continue;  // dlib: a zero saliency scanned over an empty area
				const double thresh = thresh_[d] + adjust;
				for (long r = area.top(); r <= area.bottom(); ++r) {
					for (long c = area.left(); c <= area.right(); ++c) {
						if (sal[d][r][c] >= thresh) {
							rectangle rr = fe.feats_to_image(centered_rect(point(c, r), box_w, box_h), cell_size,
							                                 height, width);
							rr = pyr.rect_up(rr, l);
							dets[d].push_back(std::make_pair(sal[d][r][c], rr));
						}
					}
				}
			}
		}

		std::vector<rect_detection> accum;
		for (unsigned long d = 0; d < ndet_; ++d) {
			std::sort(dets[d].rbegin(), dets[d].rend(), dlib::impl::compare_pair_rect);
			for (const auto& p : dets[d]) {
				rect_detection t;
				t.detection_confidence = p.first - thresh_[d];
				t.weight_index = d;
				t.rect = p.second;
				accum.push_back(t);
			}
		}
		final_dets.clear();
		if (ndet_ > 1) std::sort(accum.rbegin(), accum.rend());
		const test_box_overlap& overlap = det.get_overlap_tester();
		for (const auto& a : accum) {
			bool hit = false;
			for (const auto& f : final_dets) {
				if (overlap(f.rect, a.rect)) {
					hit = true;
					break;
				}
			}
			if (!hit) final_dets.push_back(a);
		}
	}

	// filter_level computes every detector's saliency image of one level
	// (sal[d], as apply_filters_to_fhog computes it) and returns the area
	// they are valid on.
	rectangle filter_level(const dlib::array<array2d<float>>& feats, std::vector<array2d<float>>& sal,
	                       std::vector<float>& ring) const {
		if (feats.size() != planes_.size() || feats[0].size() == 0) {
			for (auto& s : sal) s.clear();
			return rectangle();
		}
		const long nr = feats[0].nr(), nc = feats[0].nc();
		const long first = N / 2, last_row = nr - (N - 1) / 2, last_col = nc - (N - 1) / 2;
		const rectangle area(first, first, last_col - 1, last_row - 1);
		for (unsigned long d = 0; d < ndet_; ++d) {
			sal[d].set_size(nr, nc);
			zero_border_pixels(sal[d], area);
		}
		const float* rows[N];
		for (size_t i = 0; i < planes_.size(); ++i) {
			const std::vector<sep_part<N>>& parts = planes_[i];
			if (parts.empty()) continue;
			const long k = long(parts.size());
			ring.resize(size_t(k * N * nc));
			for (long s = 0; s < nr; ++s) {
				const float* in = &feats[i][s][0];
				for (long p = 0; p < k; ++p)
					sep_row<N>(in, nc, parts[size_t(p)].row, &ring[size_t((p * N + s % N) * nc)]);
				if (s < N - 1) continue;
				// Output row r reads the row passes of rows r-N/2 .. s.
				const long r = s - (N - 1) + first;
				if (r >= last_row) continue;
				for (long p = 0; p < k; ++p) {
					const sep_part<N>& part = parts[size_t(p)];
					for (long m = 0; m < N; ++m) rows[m] = &ring[size_t((p * N + (s - (N - 1) + m) % N) * nc)];
					sep_col<N>(rows, first, last_col, part.col, &sal[part.det][r][0], !part.first);
				}
			}
		}
		return area;
	}

private:
	unsigned long ndet_ = 0;
	std::vector<std::vector<sep_part<N>>> planes_;  // by plane: every detector's parts, in dlib's order
	std::vector<double> thresh_;                    // by detector
	std::vector<bool> has_parts_;                   // by detector
};
