// JPEG decoding with libjpeg-turbo (jpegdec.c). Both functions turn every
// libjpeg error into a message allocated with malloc that the caller
// frees; they never exit or crash on a corrupt, truncated or hostile file.
#ifndef FACEOPTOUT_JPEGDEC_H
#define FACEOPTOUT_JPEGDEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// What a JPEG header declares.
typedef struct {
	int width, height, components, progressive;
} fo_jpeg_info;

// fo_jpeg_info_read reads the header only.
char* fo_jpeg_info_read(const uint8_t* data, size_t len, fo_jpeg_info* info);

// fo_jpeg_alloc returns a buffer for w x h packed RGB pixels, or NULL. It
// must not throw nor longjmp.
typedef uint8_t* (*fo_jpeg_alloc)(void* ctx, int w, int h);

// fo_jpeg_decode decodes data scaled by scale_num/8 in the DCT domain into
// the buffer alloc returns (grayscale, YCbCr, RGB, CMYK and YCCK become
// RGB). libjpeg's memory is bounded by max_memory bytes (0: no bound) and
// progressive files by max_scans scans. Every warning except extraneous
// bytes and unknown JFIF/Adobe versions is an error: a truncated file fails.
char* fo_jpeg_decode(const uint8_t* data, size_t len, int scale_num, long max_memory, int max_scans,
                     fo_jpeg_alloc alloc, void* ctx, int* out_w, int* out_h);

// fo_jpeg_decode_malloc is fo_jpeg_decode into a buffer allocated with
// malloc (*out, which the caller frees; NULL on error).
char* fo_jpeg_decode_malloc(const uint8_t* data, size_t len, int scale_num, long max_memory, int max_scans,
                            uint8_t** out, int* out_w, int* out_h);

// fo_jpeg_encode writes a w x h packed RGB image as a JPEG (grayscale when
// gray, progressive when progressive) into *out, allocated with malloc.
// For tests: it makes fixtures Go's encoder cannot.
char* fo_jpeg_encode(const uint8_t* rgb, int w, int h, int gray, int quality, int progressive,
                     uint8_t** out, unsigned long* out_len);

#ifdef __cplusplus
}
#endif

#endif
