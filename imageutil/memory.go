package imageutil

import (
	"encoding/binary"
	"image"
	"image/color"
)

// Memory estimates. They are upper bounds of the pixel memory the standard
// decoders allocate for a file, computed from its header before any pixel
// exists, so that [Limits].MaxMemory refuses a file before it costs
// anything. They follow the decoders of the standard library and
// golang.org/x/image: image/jpeg keeps a progressive file's coefficients
// (64 int32 per 8x8 block of every component) beside its planes,
// x/image/tiff holds a whole strip or tile of raw samples beside the image,
// and x/image/webp's lossless decoder expands packed colour-indexed pixels
// into a second buffer. PNG is decoded by imageutil's own streaming
// decoder, whose memory pngMemory gives.

// modelBytes returns the bytes per pixel of the image a decoder returns for
// a color model, 8 (the largest) when the model is not one of the standard
// ones.
func modelBytes(m color.Model) int64 {
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	case color.YCbCrModel:
		return 3
	case color.NYCbCrAModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

// inPlace reports whether the image a decoder returns for a color model can
// become the result without a second full-size buffer: 8-bit RGBA and
// NRGBA become opaque NRGBA where they are, 16-bit RGBA64 and NRGBA64 are
// narrowed into the first half of their own pixels.
func inPlace(m color.Model) bool {
	switch m {
	case color.RGBAModel, color.NRGBAModel, color.RGBA64Model, color.NRGBA64Model:
		return true
	}
	return false
}

// decoderMemory estimates the bytes the decoder of format allocates for a
// w x h image with header data.
func decoderMemory(format string, cfg image.Config, data []byte) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	switch format {
	case FormatJPEG:
		if n, ok := jpegMemory(data); ok {
			return n
		}
		return 24 * px // 4 components, progressive, unparsed header
	case FormatGIF:
		return px
	case FormatWebP:
		switch cfg.ColorModel {
		case color.YCbCrModel:
			return px * 3 / 2
		case color.NYCbCrAModel:
			return px * 5 / 2
		}
		// Lossless: the ARGB pixels, plus the packed pixels a colour
		// indexing transform expands (at most half as many).
		return 6 * px
	case FormatBMP:
		return modelBytes(cfg.ColorModel) * px
	case FormatTIFF:
		return 2 * modelBytes(cfg.ColorModel) * px
	}
	return 8 * px
}

// jpegMemory estimates image/jpeg's allocations from the frame header: the
// planes of every component at its sampling (rounded up to whole MCUs, as
// the decoder allocates them), a CMYK image for 4 components, and 4 bytes
// per sample of coefficients for a progressive file. ok is false when no
// frame header is found among the first segments.
func jpegMemory(b []byte) (n int64, ok bool) {
	sof, marker := jpegFrame(b)
	if sof == nil || len(sof) < 6 {
		return 0, false
	}
	h, w := int64(binary.BigEndian.Uint16(sof[1:])), int64(binary.BigEndian.Uint16(sof[3:]))
	nc := int(sof[5])
	if nc < 1 || len(sof) < 6+3*nc {
		return 0, false
	}
	var hmax, vmax int64 = 1, 1
	for i := range nc {
		f := sof[6+3*i+1]
		hmax = max(hmax, int64(f>>4))
		vmax = max(vmax, int64(f&15))
	}
	mxx := (w + 8*hmax - 1) / (8 * hmax)
	myy := (h + 8*vmax - 1) / (8 * vmax)
	var planes int64
	for i := range nc {
		f := sof[6+3*i+1]
		planes += (8 * max(int64(f>>4), 1) * mxx) * (8 * max(int64(f&15), 1) * myy)
	}
	n = planes
	if nc == 4 {
		n += 4 * w * h
	}
	if marker == 0xc2 || marker == 0xc6 || marker == 0xca || marker == 0xce {
		n += 4 * planes
	}
	return n, true
}

// jpegFrame returns the payload of the first start-of-frame segment and its
// marker, nil when there is none before the first scan.
func jpegFrame(b []byte) ([]byte, byte) {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return nil, 0
	}
	i := 2
	for range maxSegments {
		if i >= len(b) || b[i] != 0xff {
			return nil, 0
		}
		for i < len(b) && b[i] == 0xff {
			i++
		}
		if i >= len(b) {
			return nil, 0
		}
		marker := b[i]
		i++
		switch {
		case marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7):
			continue
		case marker == 0xda || marker == 0xd9:
			return nil, 0
		}
		if i+2 > len(b) {
			return nil, 0
		}
		l := int(binary.BigEndian.Uint16(b[i:]))
		if l < 2 || i+l > len(b) {
			return nil, 0
		}
		if marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc {
			return b[i+2 : i+l], marker
		}
		i += l
	}
	return nil, 0
}

// reduction returns the smallest integer factor k that brings a w x h image
// within budget pixels (ceil(w/k) * ceil(h/k) <= budget); 1 for budget 0.
func reduction(w, h int, budget int64) int {
	if budget <= 0 || int64(w)*int64(h) <= budget {
		return 1
	}
	k := 2
	for {
		rw, rh := int64((w+k-1)/k), int64((h+k-1)/k)
		if rw*rh <= budget || (rw == 1 && rh == 1) {
			return k
		}
		k++
	}
}

// decodeMemory estimates the pixel memory of a whole decode: the decoder's
// buffers plus the result (none when converted in place at full size) and,
// when reduced by k, the band of k converted rows.
func decodeMemory(format string, cfg image.Config, data []byte, k int) int64 {
	w, h := int64(cfg.Width), int64(cfg.Height)
	n := decoderMemory(format, cfg, data)
	switch {
	case k > 1:
		rw, rh := (w+int64(k)-1)/int64(k), (h+int64(k)-1)/int64(k)
		n += 4*rw*rh + 4*w*int64(min(k, band)) + 24*rw
	case !inPlace(cfg.ColorModel) || format == FormatGIF:
		n += 4 * w * h
	}
	return n
}

// jpegScans counts the start-of-scan markers of a JPEG, walking its marker
// segments and skipping entropy-coded data (where 0xff is followed by 0x00
// stuffing or a restart marker). It stops counting past limit.
func jpegScans(b []byte, limit int) int {
	n := 0
	i := 2
	for i+1 < len(b) && n <= limit {
		if b[i] != 0xff {
			i++ // entropy-coded data, or junk between segments
			continue
		}
		marker := b[i+1]
		switch {
		case marker == 0xff: // fill byte
			i++
			continue
		case marker == 0x00 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01 || marker == 0xd8:
			i += 2 // stuffing, restart, TEM, SOI: no length
			continue
		case marker == 0xd9:
			return n
		}
		if i+4 > len(b) {
			return n
		}
		l := int(binary.BigEndian.Uint16(b[i+2:]))
		if marker == 0xda {
			n++
		}
		i += 2 + max(l, 2)
	}
	return n
}
