package exclusion

// This file estimates the memory one image check holds, for CheckBatch's
// MaxMemory budget.

import (
	"bytes"
	"image"

	"github.com/faceoptout/faceoptout/imageutil"
)

const (
	// decodeBytesPerPixel is what a decoder holds per pixel of the
	// image's full size (an 8-bit RGBA image), up to imageutil's
	// MaxMemory.
	decodeBytesPerPixel = 4
	// scanBytesPerPixel is what a scan holds per pixel scanned: the
	// embedder's copy of the image, the reduced copy for turned scans
	// and the detector's feature pyramid.
	scanBytesPerPixel = 16
)

// CheckMemory estimates the memory CheckImageBytes holds while it checks
// data, from the image's header alone (nothing is decoded): the encoded
// bytes, the decoder's pixels at full size (at most imageutil's MaxMemory;
// decoders that reduce while decoding hold less, so the estimate errs high)
// and the scan within the check's pixel budget (16 megapixels for a JPEG, 8
// for other formats: larger images are scanned reduced). An image whose
// header cannot be read, or that passes imageutil's pixel limit, is refused
// before any pixel is allocated and counts its encoded bytes only.
// CheckBatch bounds the sum of the estimates of the checks under way by
// BatchConfig.MaxMemory.
func CheckMemory(data []byte) int64 {
	n := int64(len(data))
	full, ok := headerPixels(data)
	lim := imageutil.DefaultLimits()
	if !ok || full <= 0 || full > lim.MaxPixels {
		return n
	}
	return n + min(full*decodeBytesPerPixel, lim.MaxMemory) + min(full, checkBudget(data))*scanBytesPerPixel
}

// headerPixels returns the width*height an image's header declares, or
// false if no registered decoder reads it (or one panics).
func headerPixels(data []byte) (px int64, ok bool) {
	defer func() {
		if recover() != nil {
			px, ok = 0, false
		}
	}()
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, false
	}
	return int64(cfg.Width) * int64(cfg.Height), true
}
