package imageutil

import (
	"image"
	"image/draw"
)

// band is how many source rows are converted at a time: enough that writing
// a rotated band fills whole cache lines of the destination.
const band = 16

// TurnOrientation returns the EXIF orientation that turns an upright image
// clockwise by deg degrees: 6 for 90, 3 for 180, 8 for 270, and 1 (the
// identity) for any other value. Orient(img, TurnOrientation(deg)) is img
// turned by deg.
func TurnOrientation(deg int) int {
	switch deg {
	case 90:
		return 6
	case 180:
		return 3
	case 270:
		return 8
	}
	return 1
}

// Orient returns an opaque 8-bit copy of img with the EXIF orientation o
// applied: 1 is the identity, 2 mirrors horizontally, 3 rotates 180°, 4
// mirrors vertically, 5 transposes, 6 rotates 90° clockwise, 7 transverses, 8
// rotates 90° counter-clockwise; any other value counts as 1. Whatever the
// colour model of img (grayscale, CMYK, YCbCr, paletted, 16-bit, with
// alpha), the result holds 8 bits per channel with transparency composited
// over white and every alpha byte 0xff. Its bounds start at (0, 0).
//
// Orient always allocates a new image; img is not modified.
func Orient(img image.Image, o int) *image.NRGBA {
	if o < 1 || o > 8 {
		o = 1
	}
	return convert(img, img.Bounds(), o)
}

// ToRGB is Orient(img, 1): an opaque 8-bit copy of img.
func ToRGB(img image.Image) *image.NRGBA { return Orient(img, 1) }

// convert renders the canvas rectangle of src (pixels outside src's bounds
// are white) into a new opaque NRGBA with orientation o applied, one band of
// rows at a time, so that it never holds more than src, the result and one
// band.
func convert(src image.Image, canvas image.Rectangle, o int) *image.NRGBA {
	w, h := canvas.Dx(), canvas.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	if w == 0 || h == 0 {
		return dst
	}
	opaque := isOpaque(src, canvas)

	// buf holds one converted band of source rows, before orientation; for
	// orientation 1 it is the destination itself.
	var buf *image.RGBA
	if o != 1 {
		buf = image.NewRGBA(image.Rect(0, 0, w, band))
	}
	for y0 := 0; y0 < h; y0 += band {
		n := min(band, h-y0)
		var b *image.RGBA
		if o == 1 {
			b = &image.RGBA{Pix: dst.Pix[y0*dst.Stride : (y0+n)*dst.Stride], Stride: dst.Stride, Rect: image.Rect(0, 0, w, n)}
		} else {
			b = &image.RGBA{Pix: buf.Pix[:n*buf.Stride], Stride: buf.Stride, Rect: image.Rect(0, 0, w, n)}
		}
		renderRows(b, src, canvas, y0, opaque)
		if o != 1 {
			place(dst, b, y0, w, h, o)
		}
	}
	return dst
}

// isOpaque reports whether src covers canvas and says it is opaque.
func isOpaque(src image.Image, canvas image.Rectangle) bool {
	if op, ok := src.(interface{ Opaque() bool }); ok && src.Bounds().Eq(canvas) {
		return op.Opaque()
	}
	return false
}

// renderRows draws canvas rows y0.. of src (as many as b has rows; pixels
// outside src's bounds are white) into band b, opaque 8-bit.
func renderRows(b *image.RGBA, src image.Image, canvas image.Rectangle, y0 int, opaque bool) {
	w, n := b.Rect.Dx(), b.Rect.Dy()
	// Source rows y0..y0+n of the canvas, in band coordinates.
	r := image.Rect(canvas.Min.X, canvas.Min.Y+y0, canvas.Max.X, canvas.Min.Y+y0+n).Intersect(src.Bounds())
	if !opaque || r.Dx() != w || r.Dy() != n {
		fill(b.Pix, 0xff)
	}
	if r.Empty() {
		return
	}
	// An *image.RGBA with every alpha 0xff is byte for byte the same as an
	// opaque *image.NRGBA, so drawing Over a white band composites over
	// white with image/draw's fast paths (YCbCr, Gray, CMYK, RGBA, NRGBA;
	// RGBA64At for the other models).
	dr := r.Sub(canvas.Min).Sub(image.Pt(0, y0))
	op := draw.Over
	if opaque {
		op = draw.Src
	}
	draw.Draw(b, dr, src, r.Min, op)
}

func fill(p []byte, v byte) {
	if len(p) == 0 {
		return
	}
	p[0] = v
	for i := 1; i < len(p); i *= 2 {
		copy(p[i:], p[:i])
	}
}

// place writes band b, holding source rows y0.. of a w x h image, into dst
// with orientation o (2 to 8). A source pixel (x, y) goes to:
//
//	2: (w-1-x, y)      3: (w-1-x, h-1-y)    4: (x, h-1-y)
//	5: (y, x)          6: (h-1-y, x)        7: (h-1-y, w-1-x)    8: (y, w-1-x)
func place(dst *image.NRGBA, b *image.RGBA, y0, w, h, o int) {
	n := b.Rect.Dy()
	ds := dst.Stride
	if o >= 5 {
		// Source row y becomes destination column dx; walking x in the
		// outer loop writes the band's n pixels of each destination row
		// side by side.
		for x := 0; x < w; x++ {
			dy := x
			if o == 7 || o == 8 {
				dy = w - 1 - x
			}
			d := dst.Pix[dy*ds : dy*ds+4*h]
			for j := 0; j < n; j++ {
				dx := y0 + j
				if o == 6 || o == 7 {
					dx = h - 1 - dx
				}
				s := j*b.Stride + 4*x
				copy(d[4*dx:4*dx+4], b.Pix[s:s+4])
			}
		}
		return
	}
	for j := 0; j < n; j++ { // 2 to 4: rows stay rows
		y := y0 + j
		row := b.Pix[j*b.Stride : j*b.Stride+4*w]
		dy := y
		if o != 2 {
			dy = h - 1 - y
		}
		d := dst.Pix[dy*ds : dy*ds+4*w]
		if o == 4 {
			copy(d, row)
			continue
		}
		for x := 0; x < w; x++ {
			copy(d[4*(w-1-x):4*(w-1-x)+4], row[4*x:4*x+4])
		}
	}
}
