// A faster get_gradient for dlib's FHOG feature extraction of RGB images,
// for the AVX2 build only (hog_avx2.cc includes it inside namespace dlib,
// there fo_dlib_avx2).
//
// dlib's impl_extract_fhog_features calls get_gradient(y, x, img, ...)
// unqualified with img a const_image_view, so argument-dependent lookup
// finds this overload in dlib's namespace, and partial ordering prefers it
// to dlib's generic template (const const_image_view<T>& is more
// specialised than const T&). dlib's version gathers the 8 pixels' 3
// channels around each position with 96 scalar loads; this one loads 24
// bytes per row segment and deinterleaves them with byte shuffles, and
// computes the squared lengths with pairwise 16-bit multiply-adds. The
// integer gradients, hence everything after them, are bit for bit dlib's
// (the rest of the function is dlib's code, copied). dlib's own
// extract_fhog_features in hog_avx2.cc calls this code too, so
// TestFHOGMatchesDlib checks it against dlib's rule written out.

// load_rgb8 deinterleaves the 8 packed RGB pixels at p (24 bytes) into
// three vectors of 8 ints: the low 128-bit lane holds bytes 0..15 (pixels
// 0..3 at 0..11), the high one bytes 8..23 (pixels 4..7 at 4..15), and
// one byte shuffle per channel moves each pixel's byte to the low byte of
// its int, zeroing the rest.
inline void fo_load_rgb8(const unsigned char* p, __m256i& r, __m256i& g, __m256i& b) {
	const __m256i v = _mm256_inserti128_si256(
	    _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
	    _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 8)), 1);
	r = _mm256_shuffle_epi8(v, _mm256_setr_epi8(0, -1, -1, -1, 3, -1, -1, -1, 6, -1, -1, -1, 9, -1, -1, -1,  //
	                                            4, -1, -1, -1, 7, -1, -1, -1, 10, -1, -1, -1, 13, -1, -1, -1));
	g = _mm256_shuffle_epi8(v, _mm256_setr_epi8(1, -1, -1, -1, 4, -1, -1, -1, 7, -1, -1, -1, 10, -1, -1, -1,  //
	                                            5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1, 14, -1, -1, -1));
	b = _mm256_shuffle_epi8(v, _mm256_setr_epi8(2, -1, -1, -1, 5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1,  //
	                                            6, -1, -1, -1, 9, -1, -1, -1, 12, -1, -1, -1, 15, -1, -1, -1));
}

// fo_len2 is gx*gx + gy*gy for gradients in [-255, 255]: each pair as the
// two 16-bit halves of an int, multiplied and added by one vpmaddwd
// (exact: the sum is at most 130050).
inline __m256i fo_len2(__m256i gx, __m256i gy) {
	const __m256i p = _mm256_blend_epi16(gx, _mm256_slli_epi32(gy, 16), 0xAA);
	return _mm256_madd_epi16(p, p);
}

// fo_gradient8 is dlib's gradient of the 8 pixels from (r, c) of an RGB
// image, in integers: the strongest of the three channels' (ties go to the
// later channel, as in dlib's vector code) and its squared length.
template <typename image_type>
inline void fo_gradient8(const int r, const int c, const const_image_view<image_type>& img, simd8i& grad_x,
                         simd8i& grad_y, simd8i& len) {
	static_assert(std::is_same<typename image_traits<image_type>::pixel_type, rgb_pixel>::value && sizeof(rgb_pixel) == 3,
	              "packed RGB images only");
	// The pixels dlib reads: row r from c-1 to c+8, rows r-1 and r+1 from
	// c to c+7.
	const unsigned char* row = reinterpret_cast<const unsigned char*>(&img[r][c]);
	const unsigned char* up = reinterpret_cast<const unsigned char*>(&img[r - 1][c]);
	const unsigned char* down = reinterpret_cast<const unsigned char*>(&img[r + 1][c]);
	__m256i rl, gl, bl, rr, gr, br, rt, gt, bt, rb, gb, bb;
	fo_load_rgb8(row - 3, rl, gl, bl);
	fo_load_rgb8(row + 3, rr, gr, br);
	fo_load_rgb8(up, rt, gt, bt);
	fo_load_rgb8(down, rb, gb, bb);
	const simd8i rleft(rl), rright(rr), rtop(rt), rbottom(rb);
	const simd8i gleft(gl), gright(gr), gtop(gt), gbottom(gb);
	const simd8i bleft(bl), bright(br), btop(bt), bbottom(bb);

	// From here on, dlib's get_gradient.
	simd8i grad_x_red = rright - rleft;
	simd8i grad_y_red = rbottom - rtop;
	simd8i grad_x_green = gright - gleft;
	simd8i grad_y_green = gbottom - gtop;
	simd8i grad_x_blue = bright - bleft;
	simd8i grad_y_blue = bbottom - btop;

	simd8i rlen = fo_len2(grad_x_red, grad_y_red);
	simd8i glen = fo_len2(grad_x_green, grad_y_green);
	simd8i blen = fo_len2(grad_x_blue, grad_y_blue);

	simd8i cmp = rlen > glen;
	simd8i tgrad_x = select(cmp, grad_x_red, grad_x_green);
	simd8i tgrad_y = select(cmp, grad_y_red, grad_y_green);
	simd8i tlen = select(cmp, rlen, glen);

	cmp = tlen > blen;
	grad_x = select(cmp, tgrad_x, grad_x_blue);
	grad_y = select(cmp, tgrad_y, grad_y_blue);
	len = select(cmp, tlen, blen);
}

template <typename image_type>
inline typename enable_if_c<std::is_same<typename image_traits<image_type>::pixel_type, rgb_pixel>::value>::type
get_gradient(const int r, const int c, const const_image_view<image_type>& img, simd8f& grad_x, simd8f& grad_y,
             simd8f& len) {
	simd8i gx, gy, l;
	fo_gradient8(r, c, img, gx, gy, l);
	grad_x = gx;
	grad_y = gy;
	len = l;
}
