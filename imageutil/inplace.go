package imageutil

import (
	"image"
)

// m16 is the largest 16-bit colour value, as image/draw names it.
const m16 = 0xffff

// convertInPlace turns img, decoded at canvas (which starts at the origin),
// into an opaque 8-bit NRGBA that shares img's pixels, compositing
// transparency over white with image/draw's arithmetic (so the bytes are
// those convert gives). ok is false when img is not an *image.RGBA,
// *image.NRGBA, *image.RGBA64 or *image.NRGBA64 covering canvas with
// contiguous rows; img is then untouched.
func convertInPlace(img image.Image, canvas image.Rectangle) (m *image.NRGBA, ok bool) {
	if img.Bounds() != canvas || canvas.Min != (image.Point{}) {
		return nil, false
	}
	w, h := canvas.Dx(), canvas.Dy()
	n := w * h
	switch s := img.(type) {
	case *image.RGBA:
		if s.Stride != 4*w || len(s.Pix) < 4*n {
			return nil, false
		}
		p := s.Pix[:4*n]
		for i := 0; i < len(p); i += 4 {
			q := p[i : i+4 : i+4]
			if q[3] == 0xff {
				continue
			}
			a := (m16 - uint32(q[3])*0x101) * 0x101
			q[0] = uint8((0xff*a/m16 + uint32(q[0])*0x101) >> 8)
			q[1] = uint8((0xff*a/m16 + uint32(q[1])*0x101) >> 8)
			q[2] = uint8((0xff*a/m16 + uint32(q[2])*0x101) >> 8)
			q[3] = 0xff
		}
		return &image.NRGBA{Pix: p, Stride: 4 * w, Rect: canvas}, true
	case *image.NRGBA:
		if s.Stride != 4*w || len(s.Pix) < 4*n {
			return nil, false
		}
		p := s.Pix[:4*n]
		for i := 0; i < len(p); i += 4 {
			q := p[i : i+4 : i+4]
			if q[3] == 0xff {
				continue
			}
			sa := uint32(q[3]) * 0x101
			a := (m16 - sa) * 0x101
			q[0] = uint8((0xff*a/m16 + uint32(q[0])*sa/0xff) >> 8)
			q[1] = uint8((0xff*a/m16 + uint32(q[1])*sa/0xff) >> 8)
			q[2] = uint8((0xff*a/m16 + uint32(q[2])*sa/0xff) >> 8)
			q[3] = 0xff
		}
		return &image.NRGBA{Pix: p, Stride: 4 * w, Rect: canvas}, true
	case *image.RGBA64:
		if s.Stride != 8*w || len(s.Pix) < 8*n {
			return nil, false
		}
		narrow(s.Pix[:8*n], true)
		return &image.NRGBA{Pix: s.Pix[: 4*n : 4*n], Stride: 4 * w, Rect: canvas}, true
	case *image.NRGBA64:
		if s.Stride != 8*w || len(s.Pix) < 8*n {
			return nil, false
		}
		narrow(s.Pix[:8*n], false)
		return &image.NRGBA{Pix: s.Pix[: 4*n : 4*n], Stride: 4 * w, Rect: canvas}, true
	}
	return nil, false
}

// narrow rewrites 16-bit RGBA pixels (big-endian, premultiplied or not) as
// opaque 8-bit ones over white in the first half of p, pixel i's 4 bytes
// at 4i: it reads each pixel before anything is written over it. The
// arithmetic is image/draw's Over onto white for 16-bit sources.
func narrow(p []byte, premultiplied bool) {
	for i, j := 0, 0; i < len(p); i, j = i+8, j+4 {
		q := p[i : i+8 : i+8]
		r := uint32(q[0])<<8 | uint32(q[1])
		g := uint32(q[2])<<8 | uint32(q[3])
		b := uint32(q[4])<<8 | uint32(q[5])
		a := uint32(q[6])<<8 | uint32(q[7])
		if !premultiplied {
			r, g, b = r*a/m16, g*a/m16, b*a/m16
		}
		ia := m16 - a
		d := p[j : j+4 : j+4]
		d[0] = uint8((0xff*0x101*ia/m16 + r) >> 8)
		d[1] = uint8((0xff*0x101*ia/m16 + g) >> 8)
		d[2] = uint8((0xff*0x101*ia/m16 + b) >> 8)
		d[3] = 0xff
	}
}

// orientInPlace applies EXIF orientation o (1 to 8) to m by moving its
// pixels within m.Pix (m's bounds start at the origin and its rows are
// contiguous) and returns m with its new bounds. Orientations 2 to 4 swap
// pixels and rows; 5 to 8 follow the cycles of the permutation, marking
// moved pixels in a bitmap of one bit per pixel, so the only extra memory
// is w*h/8 bytes.
func orientInPlace(m *image.NRGBA, o int) *image.NRGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	p := m.Pix
	swap := func(i, j int) {
		a, b := p[4*i:4*i+4:4*i+4], p[4*j:4*j+4:4*j+4]
		a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3] = b[0], b[1], b[2], b[3], a[0], a[1], a[2], a[3]
	}
	switch o {
	case 2: // mirror each row
		for y := range h {
			for x := 0; x < w/2; x++ {
				swap(y*w+x, y*w+w-1-x)
			}
		}
		return m
	case 3: // reverse all pixels
		for i, j := 0, w*h-1; i < j; i, j = i+1, j-1 {
			swap(i, j)
		}
		return m
	case 4: // reverse the rows
		for y := 0; y < h/2; y++ {
			for x := range w {
				swap(y*w+x, (h-1-y)*w+x)
			}
		}
		return m
	case 5, 6, 7, 8:
	default:
		return m
	}
	// The result is h x w. src(j) is the source index of the pixel that
	// ends at destination index j = dy*h + dx.
	src := func(j int) int {
		dx, dy := j%h, j/h
		var x, y int
		switch o {
		case 5:
			x, y = dy, dx
		case 6:
			x, y = dy, h-1-dx
		case 7:
			x, y = w-1-dy, h-1-dx
		case 8:
			x, y = w-1-dy, dx
		}
		return y*w + x
	}
	n := w * h
	done := make([]uint64, (n+63)/64)
	for start := range n {
		if done[start/64]&(1<<(start%64)) != 0 {
			continue
		}
		var tmp [4]byte
		copy(tmp[:], p[4*start:4*start+4])
		j := start
		for {
			done[j/64] |= 1 << (j % 64)
			k := src(j)
			if k == start {
				copy(p[4*j:4*j+4], tmp[:])
				break
			}
			copy(p[4*j:4*j+4], p[4*k:4*k+4])
			j = k
		}
	}
	m.Rect = image.Rect(0, 0, h, w)
	m.Stride = 4 * h
	return m
}
