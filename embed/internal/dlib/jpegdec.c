// JPEG decoding with libjpeg-turbo, scaled in the DCT domain.
//
// This file is plain C on purpose: libjpeg reports fatal errors through
// error_exit, which we turn into a longjmp back to fo_jpeg_decode. A longjmp
// must never cross a C++ frame (destructors would be skipped), so the only
// C++ code called from here, the allocation callback, has returned before
// libjpeg can fail again, and it catches every exception itself.

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "jpegdec.h"

typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX + 64];
	int max_scans;
	struct jpeg_progress_mgr progress;
} fo_jerr;

static void fo_error_exit(j_common_ptr cinfo) {
	fo_jerr* e = (fo_jerr*)cinfo->err;
	char buf[JMSG_LENGTH_MAX];
	(*cinfo->err->format_message)(cinfo, buf);
	snprintf(e->msg, sizeof e->msg, "%s", buf);
	longjmp(e->jump, 1);
}

// fo_emit_message makes every warning fatal except harmless ones: a
// truncated or corrupt file must fail (libjpeg would fill the missing
// part with grey and carry on), never give a partly checked image.
static void fo_emit_message(j_common_ptr cinfo, int level) {
	if (level >= 0) return;  // trace messages
	int code = cinfo->err->msg_code;
	if (code == JWRN_EXTRANEOUS_DATA || code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM) return;
	cinfo->err->num_warnings++;
	fo_error_exit(cinfo);
}

// fo_progress bounds the number of scans a progressive file may have:
// each scan re-reads the whole coefficient buffer, so a file of thousands of
// tiny scans would take minutes to decode.
static void fo_progress(j_common_ptr cinfo) {
	fo_jerr* e = (fo_jerr*)cinfo->err;
	if (cinfo->is_decompressor) {
		j_decompress_ptr d = (j_decompress_ptr)cinfo;
		if (d->input_scan_number > e->max_scans) {
			snprintf(e->msg, sizeof e->msg, "progressive JPEG with more than %d scans", e->max_scans);
			longjmp(e->jump, 1);
		}
	}
}

static char* fo_strdup(const char* s) {
	size_t n = strlen(s) + 1;
	char* p = (char*)malloc(n);
	if (p) memcpy(p, s, n);
	return p;
}

char* fo_jpeg_info_read(const uint8_t* data, size_t len, fo_jpeg_info* info) {
	struct jpeg_decompress_struct cinfo;
	fo_jerr jerr;
	memset(info, 0, sizeof *info);
	memset(&jerr, 0, sizeof jerr);
	cinfo.err = jpeg_std_error(&jerr.pub);
	jerr.pub.error_exit = fo_error_exit;
	jerr.pub.emit_message = fo_emit_message;
	if (setjmp(jerr.jump)) {
		jpeg_destroy_decompress(&cinfo);
		return fo_strdup(jerr.msg);
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, data, (unsigned long)len);
	jpeg_read_header(&cinfo, TRUE);
	info->width = (int)cinfo.image_width;
	info->height = (int)cinfo.image_height;
	info->components = cinfo.num_components;
	info->progressive = cinfo.progressive_mode ? 1 : 0;
	jpeg_destroy_decompress(&cinfo);
	return NULL;
}

char* fo_jpeg_decode(const uint8_t* data, size_t len, int scale_num, long max_memory, int max_scans,
                     fo_jpeg_alloc alloc, void* ctx, int* out_w, int* out_h) {
	struct jpeg_decompress_struct cinfo;
	fo_jerr jerr;
	uint8_t* volatile out = NULL;
	memset(&jerr, 0, sizeof jerr);
	*out_w = 0;
	*out_h = 0;
	cinfo.err = jpeg_std_error(&jerr.pub);
	jerr.pub.error_exit = fo_error_exit;
	jerr.pub.emit_message = fo_emit_message;
	jerr.max_scans = max_scans;
	if (setjmp(jerr.jump)) {
		jpeg_destroy_decompress(&cinfo);
		return fo_strdup(jerr.msg);
	}
	jpeg_create_decompress(&cinfo);
	cinfo.mem->max_memory_to_use = max_memory;
	jerr.progress.progress_monitor = fo_progress;
	cinfo.progress = &jerr.progress;
	jpeg_mem_src(&cinfo, data, (unsigned long)len);
	jpeg_read_header(&cinfo, TRUE);

	int cmyk = 0, inverted = 0;
	switch (cinfo.jpeg_color_space) {
	case JCS_GRAYSCALE:
	case JCS_YCbCr:
	case JCS_RGB:
		cinfo.out_color_space = JCS_RGB;
		break;
	case JCS_CMYK:
	case JCS_YCCK:
		cinfo.out_color_space = JCS_CMYK;
		cmyk = 1;
		// Adobe writes CMYK inverted (0 is full ink).
		inverted = cinfo.saw_Adobe_marker;
		break;
	default:
		snprintf(jerr.msg, sizeof jerr.msg, "unsupported JPEG colour space %d with %d components",
		         (int)cinfo.jpeg_color_space, cinfo.num_components);
		longjmp(jerr.jump, 1);
	}
	if (scale_num < 1 || scale_num > 16) scale_num = 8;
	cinfo.scale_num = (unsigned int)scale_num;
	cinfo.scale_denom = 8;
	cinfo.dct_method = JDCT_ISLOW;
	jpeg_calc_output_dimensions(&cinfo);
	const int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
	if (w <= 0 || h <= 0) {
		snprintf(jerr.msg, sizeof jerr.msg, "empty JPEG output %dx%d", w, h);
		longjmp(jerr.jump, 1);
	}
	// The callback is C++; it catches its own exceptions and has returned
	// before libjpeg runs again.
	out = alloc(ctx, w, h);
	if (out == NULL) {
		snprintf(jerr.msg, sizeof jerr.msg, "cannot allocate %dx%d RGB image", w, h);
		longjmp(jerr.jump, 1);
	}
	jpeg_start_decompress(&cinfo);
	if ((int)cinfo.output_width != w || (int)cinfo.output_height != h ||
	    cinfo.output_components != (cmyk ? 4 : 3)) {
		snprintf(jerr.msg, sizeof jerr.msg, "JPEG output %ux%u x%d differs from %dx%d",
		         cinfo.output_width, cinfo.output_height, cinfo.output_components, w, h);
		longjmp(jerr.jump, 1);
	}
	JSAMPARRAY tmp = NULL;
	if (cmyk) tmp = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE, (JDIMENSION)w * 4, 1);
	while (cinfo.output_scanline < cinfo.output_height) {
		uint8_t* row = out + (size_t)cinfo.output_scanline * (size_t)w * 3;
		if (!cmyk) {
			JSAMPROW rows[16];
			JDIMENSION k = cinfo.output_height - cinfo.output_scanline;
			if (k > 16) k = 16;
			for (JDIMENSION i = 0; i < k; ++i) rows[i] = row + (size_t)i * (size_t)w * 3;
			jpeg_read_scanlines(&cinfo, rows, k);
			continue;
		}
		jpeg_read_scanlines(&cinfo, tmp, 1);
		const uint8_t* p = tmp[0];
		for (int x = 0; x < w; ++x, p += 4, row += 3) {
			unsigned c = p[0], m = p[1], y = p[2], k = p[3];
			if (!inverted) {
				c = 255 - c;
				m = 255 - m;
				y = 255 - y;
				k = 255 - k;
			}
			// c, m, y, k now hold 255 minus the ink.
			row[0] = (uint8_t)((c * k + 127) / 255);
			row[1] = (uint8_t)((m * k + 127) / 255);
			row[2] = (uint8_t)((y * k + 127) / 255);
		}
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	*out_w = w;
	*out_h = h;
	return NULL;
}

static uint8_t* fo_malloc_rgb(void* ctx, int w, int h) {
	uint8_t** out = (uint8_t**)ctx;
	*out = (uint8_t*)malloc((size_t)w * (size_t)h * 3);
	return *out;
}

char* fo_jpeg_decode_malloc(const uint8_t* data, size_t len, int scale_num, long max_memory, int max_scans,
                            uint8_t** out, int* out_w, int* out_h) {
	*out = NULL;
	char* err = fo_jpeg_decode(data, len, scale_num, max_memory, max_scans, fo_malloc_rgb, out, out_w, out_h);
	if (err) {
		free(*out);
		*out = NULL;
	}
	return err;
}

char* fo_jpeg_encode(const uint8_t* rgb, int w, int h, int gray, int quality, int progressive,
                     uint8_t** out, unsigned long* out_len) {
	struct jpeg_compress_struct cinfo;
	fo_jerr jerr;
	unsigned char* volatile buf = NULL;
	unsigned long size = 0;
	memset(&jerr, 0, sizeof jerr);
	*out = NULL;
	*out_len = 0;
	cinfo.err = jpeg_std_error(&jerr.pub);
	jerr.pub.error_exit = fo_error_exit;
	if (setjmp(jerr.jump)) {
		jpeg_destroy_compress(&cinfo);
		free(buf);
		return fo_strdup(jerr.msg);
	}
	jpeg_create_compress(&cinfo);
	unsigned char* b = NULL;
	jpeg_mem_dest(&cinfo, &b, &size);
	cinfo.image_width = (JDIMENSION)w;
	cinfo.image_height = (JDIMENSION)h;
	cinfo.input_components = 3;
	cinfo.in_color_space = JCS_RGB;
	jpeg_set_defaults(&cinfo);
	if (gray) jpeg_set_colorspace(&cinfo, JCS_GRAYSCALE);
	jpeg_set_quality(&cinfo, quality, TRUE);
	if (progressive) jpeg_simple_progression(&cinfo);
	jpeg_start_compress(&cinfo, TRUE);
	while (cinfo.next_scanline < cinfo.image_height) {
		JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)w * 3);
		jpeg_write_scanlines(&cinfo, &row, 1);
	}
	jpeg_finish_compress(&cinfo);
	buf = b;
	jpeg_destroy_compress(&cinfo);
	*out = buf;
	*out_len = size;
	return NULL;
}
