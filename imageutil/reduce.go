package imageutil

import "image"

// reduce renders the canvas rectangle of src shrunk by the integer factor k
// (k >= 2) into a new opaque NRGBA of ceil(w/k) x ceil(h/k) pixels, each the
// rounded mean of its k x k block of source pixels (blocks at the right and
// bottom edges average the pixels they have). It converts k source rows at
// a time in bands of at most 16 rows, so it holds src, the result, one band
// and one row of sums, never a full-size 8-bit copy.
func reduce(src image.Image, canvas image.Rectangle, k int) *image.NRGBA {
	w, h := canvas.Dx(), canvas.Dy()
	rw, rh := (w+k-1)/k, (h+k-1)/k
	dst := image.NewNRGBA(image.Rect(0, 0, rw, rh))
	opaque := isOpaque(src, canvas)
	buf := image.NewRGBA(image.Rect(0, 0, w, min(k, band)))
	sums := make([]uint64, 3*rw)
	// An opaque 8-bit RGBA or NRGBA source is read where it is; any other
	// is converted band by band.
	var direct []byte
	var stride int
	if opaque && src.Bounds() == canvas {
		switch m := src.(type) {
		case *image.RGBA:
			direct, stride = m.Pix, m.Stride
		case *image.NRGBA:
			direct, stride = m.Pix, m.Stride
		}
	}
	add := func(row []byte) {
		for rx := range rw {
			x0, x1 := rx*k, min(rx*k+k, w)
			var r, g, b uint64
			for i := 4 * x0; i < 4*x1; i += 4 {
				p := row[i : i+3 : i+3]
				r += uint64(p[0])
				g += uint64(p[1])
				b += uint64(p[2])
			}
			sums[3*rx] += r
			sums[3*rx+1] += g
			sums[3*rx+2] += b
		}
	}
	for ry := range rh {
		y0 := ry * k
		n := min(k, h-y0)
		clear(sums)
		if direct != nil {
			for j := range n {
				add(direct[(y0+j)*stride : (y0+j)*stride+4*w])
			}
		}
		for j0 := 0; direct == nil && j0 < n; j0 += band {
			m := min(band, n-j0)
			b := &image.RGBA{Pix: buf.Pix[:m*buf.Stride], Stride: buf.Stride, Rect: image.Rect(0, 0, w, m)}
			renderRows(b, src, canvas, y0+j0, opaque)
			for j := range m {
				add(b.Pix[j*b.Stride : j*b.Stride+4*w])
			}
		}
		d := dst.Pix[ry*dst.Stride : ry*dst.Stride+4*rw]
		for rx := range rw {
			c := uint64(min(k, w-rx*k)) * uint64(n) // pixels in this block
			s := sums[3*rx : 3*rx+3 : 3*rx+3]
			q := d[4*rx : 4*rx+4 : 4*rx+4]
			q[0] = uint8((s[0] + c/2) / c)
			q[1] = uint8((s[1] + c/2) / c)
			q[2] = uint8((s[2] + c/2) / c)
			q[3] = 0xff
		}
	}
	return dst
}
