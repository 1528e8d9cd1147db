package imageutil

// This file is imageutil's own PNG decoder. It streams: rows are
// decompressed, unfiltered and converted one at a time, and each lands in
// the result at once (full size) or in the sums of its k x k block (reduced
// by a pixel budget), so a decode holds the result and a few rows, never the
// full-size image. It accepts exactly the files image/png accepts (the same
// chunk order rules, checksums, trailing-data rule and palette fallbacks) and
// gives exactly the pixels image/png's image gives once composited over
// white and box-averaged as reduce does; the differential tests and
// FuzzPNGDifferential hold it to that.

import (
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"io"
	"sync"
)

const pngSignature = "\x89PNG\r\n\x1a\n"

// PNG colour types.
const (
	pngGray      = 0
	pngTrueColor = 2
	pngPaletted  = 3
	pngGrayAlpha = 4
	pngRGBA      = 6
)

// Decoding stages, in the order the chunks must come.
const (
	stStart = iota
	stIHDR
	stPLTE
	stTRNS
	stIDAT
	stIEND
)

// pngCtxRows is how many rows the decoder decodes between two looks at its
// context.
const pngCtxRows = 16

// errPNG makes a corrupt-file error.
func errPNG(format string, a ...any) error {
	return fmt.Errorf("%w: png: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// errPNGUnsupported makes an unsupported-feature error.
func errPNGUnsupported(format string, a ...any) error {
	return fmt.Errorf("%w: png: %s", ErrFormat, fmt.Sprintf(format, a...))
}

// adam7 lists the interlace passes: x and y of the first pixel, and steps.
var adam7 = [7]struct{ x, y, dx, dy int }{
	{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2},
}

// pngHeader is what IHDR declares.
type pngHeader struct {
	w, h      int
	depth     int
	ctype     int
	interlace bool
}

// bitsPerPixel returns the bits of one pixel in a row.
func (h pngHeader) bitsPerPixel() int {
	switch h.ctype {
	case pngGray, pngPaletted:
		return h.depth
	case pngTrueColor:
		return 3 * h.depth
	case pngGrayAlpha:
		return 2 * h.depth
	}
	return 4 * h.depth // pngRGBA
}

// rowBytes returns the bytes of a row of w pixels, filter byte included.
func (h pngHeader) rowBytes(w int) int64 {
	return 1 + (int64(h.bitsPerPixel())*int64(w)+7)/8
}

// pngMemory is the pixel memory of a streaming decode of a w x h PNG
// reduced by k: the result, the two rows being unfiltered, one converted
// row and, reduced, the block sums (one row of them, or for an interlaced
// file beyond k = 2 one per result pixel).
func pngMemory(h pngHeader, k int) int64 {
	w, ht, kk := int64(h.w), int64(h.h), int64(k)
	rw, rh := (w+kk-1)/kk, (ht+kk-1)/kk
	n := 4*rw*rh + 2*h.rowBytes(h.w) + 3*w
	switch {
	case k == 1:
	case !h.interlace:
		n += 24 * rw
	case k > 2 && k <= maxPacked:
		n += 8 * rw * rh
	case k > maxPacked:
		n += 24 * rw * rh
	}
	return n
}

// pngDecoder walks the chunks of one PNG held in memory.
type pngDecoder struct {
	data []byte
	pos  int // offset of the next chunk
	hdr  pngHeader
	// Palette and transparency as image/png keeps them: plte holds every
	// entry, those beyond the PLTE chunk opaque black, and nplte the
	// entries PLTE gave; trns the alpha of the first ntrns entries.
	plte  [256][3]byte
	nplte int
	trns  [256]byte
	ntrns int
	// transparent is the tRNS sample of a grayscale or truecolor image;
	// useTransparent says there was one.
	transparent    [6]byte
	useTransparent bool
	stage          int
}

// chunk reads the header of the chunk at d.pos: its type and the offsets of
// its data. The data and the checksum are not checked here.
func (d *pngDecoder) chunk() (typ string, start int, length uint32, err error) {
	if d.pos+8 > len(d.data) {
		return "", 0, 0, errPNG("truncated chunk header")
	}
	length = binary.BigEndian.Uint32(d.data[d.pos:])
	return string(d.data[d.pos+4 : d.pos+8]), d.pos + 8, length, nil
}

// body returns the data of a chunk of the given length starting at start
// after checking its checksum, and moves d.pos past the chunk.
func (d *pngDecoder) body(start int, length uint32) ([]byte, error) {
	end := int64(start) + int64(length)
	if end+4 > int64(len(d.data)) {
		return nil, errPNG("truncated chunk")
	}
	if crc32.ChecksumIEEE(d.data[start-4:end]) != binary.BigEndian.Uint32(d.data[end:]) {
		return nil, errPNG("invalid checksum")
	}
	d.pos = int(end) + 4
	return d.data[start:end], nil
}

// decodePNG decodes data (which starts with the PNG signature) within the
// limits of o, reduced by the factor WithPixelBudget chooses. It checks ctx
// every pngCtxRows rows.
func decodePNG(ctx context.Context, data []byte, o options) (m *image.NRGBA, hdr pngHeader, k int, err error) {
	d := &pngDecoder{data: data, pos: len(pngSignature)}
	if len(data) < len(pngSignature) || string(data[:len(pngSignature)]) != pngSignature {
		return nil, hdr, 0, errPNG("not a PNG file")
	}
	for d.stage != stIEND {
		typ, start, length, err := d.chunk()
		if err != nil {
			return nil, hdr, 0, err
		}
		switch typ {
		case "IHDR":
			if d.stage != stStart {
				return nil, hdr, 0, errPNG("chunk out of order")
			}
			d.stage = stIHDR
			if err := d.parseIHDR(start, length); err != nil {
				return nil, hdr, 0, err
			}
			if k, err = d.checkLimits(o); err != nil {
				return nil, hdr, 0, err
			}
			continue
		case "PLTE":
			if d.stage != stIHDR {
				return nil, hdr, 0, errPNG("chunk out of order")
			}
			d.stage = stPLTE
			if err := d.parsePLTE(start, length); err != nil {
				return nil, hdr, 0, err
			}
			continue
		case "tRNS":
			switch {
			case d.stage == stStart:
				return nil, hdr, 0, errPNG("chunk out of order")
			case d.hdr.ctype == pngPaletted:
				if d.stage != stPLTE {
					return nil, hdr, 0, errPNG("chunk out of order")
				}
			case d.hdr.ctype == pngTrueColor:
				if d.stage != stIHDR && d.stage != stPLTE {
					return nil, hdr, 0, errPNG("chunk out of order")
				}
			case d.stage != stIHDR:
				return nil, hdr, 0, errPNG("chunk out of order")
			}
			d.stage = stTRNS
			if err := d.parseTRNS(start, length); err != nil {
				return nil, hdr, 0, err
			}
			continue
		case "IDAT":
			if d.stage < stIHDR || (d.stage == stIHDR && d.hdr.ctype == pngPaletted) {
				return nil, hdr, 0, errPNG("chunk out of order")
			}
			if d.stage == stIDAT {
				break // trailing IDAT chunks are skipped, as image/png does
			}
			d.stage = stIDAT
			if m, err = d.pixels(ctx, start, length, k); err != nil {
				return nil, hdr, 0, err
			}
			continue
		case "IEND":
			if d.stage != stIDAT {
				return nil, hdr, 0, errPNG("chunk out of order")
			}
			d.stage = stIEND
			if length != 0 {
				return nil, hdr, 0, errPNG("bad IEND length")
			}
			if _, err := d.body(start, length); err != nil {
				return nil, hdr, 0, err
			}
			continue
		}
		if length > 0x7fffffff {
			return nil, hdr, 0, errPNG("bad chunk length %d", length)
		}
		if _, err := d.body(start, length); err != nil { // any other chunk: skipped
			return nil, hdr, 0, err
		}
	}
	return m, d.hdr, k, nil
}

// checkLimits applies o's pixel and memory limits to the header and returns
// the reduction factor.
func (d *pngDecoder) checkLimits(o options) (int, error) {
	w, h := d.hdr.w, d.hdr.h
	if px := int64(w) * int64(h); px > o.limits.MaxPixels {
		return 0, &LimitError{Limit: LimitPixels, Value: px, Max: o.limits.MaxPixels, Format: FormatPNG, Width: w, Height: h}
	}
	k := reduction(w, h, o.budget)
	if mem := pngMemory(d.hdr, k); mem > o.limits.MaxMemory {
		return 0, &LimitError{Limit: LimitMemory, Value: mem, Max: o.limits.MaxMemory, Format: FormatPNG, Width: w, Height: h}
	}
	return k, nil
}

func (d *pngDecoder) parseIHDR(start int, length uint32) error {
	if length != 13 {
		return errPNG("bad IHDR length")
	}
	b, err := d.body(start, length)
	if err != nil {
		return err
	}
	if b[10] != 0 {
		return errPNGUnsupported("compression method %d", b[10])
	}
	if b[11] != 0 {
		return errPNGUnsupported("filter method %d", b[11])
	}
	if b[12] > 1 {
		return errPNG("invalid interlace method %d", b[12])
	}
	w, h := int32(binary.BigEndian.Uint32(b[0:])), int32(binary.BigEndian.Uint32(b[4:]))
	if w <= 0 || h <= 0 {
		return errPNG("non-positive dimension %dx%d", w, h)
	}
	if px := int64(w) * int64(h); px >= 1<<60 {
		return errPNGUnsupported("dimension overflow")
	}
	depth, ct := int(b[8]), int(b[9])
	ok := false
	switch ct {
	case pngGray:
		ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16
	case pngPaletted:
		ok = depth == 1 || depth == 2 || depth == 4 || depth == 8
	case pngTrueColor, pngGrayAlpha, pngRGBA:
		ok = depth == 8 || depth == 16
	}
	if !ok {
		return errPNGUnsupported("bit depth %d, color type %d", depth, ct)
	}
	d.hdr = pngHeader{w: int(w), h: int(h), depth: depth, ctype: ct, interlace: b[12] == 1}
	return nil
}

func (d *pngDecoder) parsePLTE(start int, length uint32) error {
	np := int(length / 3)
	if length%3 != 0 || np <= 0 || np > 256 || np > 1<<d.hdr.depth {
		return errPNG("bad PLTE length")
	}
	b, err := d.body(start, length)
	if err != nil {
		return err
	}
	switch d.hdr.ctype {
	case pngPaletted:
		for i := range np {
			d.plte[i] = [3]byte{b[3*i], b[3*i+1], b[3*i+2]}
		}
		d.nplte = np
	case pngTrueColor, pngRGBA:
		// Optional for these types, and ignored.
	default:
		return errPNG("PLTE, color type mismatch")
	}
	return nil
}

func (d *pngDecoder) parseTRNS(start int, length uint32) error {
	switch d.hdr.ctype {
	case pngGray:
		if length != 2 {
			return errPNG("bad tRNS length")
		}
	case pngTrueColor:
		if length != 6 {
			return errPNG("bad tRNS length")
		}
	case pngPaletted:
		if length > 256 {
			return errPNG("bad tRNS length")
		}
	default:
		return errPNG("tRNS, color type mismatch")
	}
	b, err := d.body(start, length)
	if err != nil {
		return err
	}
	if d.hdr.ctype == pngPaletted {
		d.ntrns = copy(d.trns[:], b)
		return nil
	}
	copy(d.transparent[:], b)
	if d.hdr.ctype == pngGray {
		// image/png compares a low bit depth's samples, scaled to 8 bits,
		// with the low byte of the tRNS sample scaled the same way (in
		// 8-bit arithmetic).
		switch d.hdr.depth {
		case 1:
			d.transparent[1] *= 0xff
		case 2:
			d.transparent[1] *= 0x55
		case 4:
			d.transparent[1] *= 0x11
		}
	}
	d.useTransparent = true
	return nil
}

// idatReader presents the IDAT chunks from the first one on as one stream,
// as image/png's decoder does: when a chunk is used up it checks the
// chunk's checksum and requires the next chunk to be an IDAT. It has no
// ReadByte, so that zlib reads it through a bufio.Reader as it reads
// image/png's, which decides how much of the last chunk is left unread
// when the zlib stream ends.
type idatReader struct {
	d         *pngDecoder
	start     int    // offset of the current chunk's data
	remaining uint32 // bytes of the current chunk not yet read
	length    uint32 // length of the current chunk
}

func (r *idatReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for r.remaining == 0 {
		if _, err := r.d.body(r.start, r.length); err != nil {
			return 0, err
		}
		typ, start, length, err := r.d.chunk()
		if err != nil {
			return 0, err
		}
		if typ != "IDAT" {
			return 0, errPNG("not enough pixel data")
		}
		r.start, r.length, r.remaining = start, length, length
	}
	off := int64(r.start) + int64(r.length-r.remaining)
	if off >= int64(len(r.d.data)) {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p[:min(int64(len(p)), int64(r.remaining))], r.d.data[off:])
	r.remaining -= uint32(n)
	return n, nil
}

// pixels decodes the zlib stream that starts in the IDAT chunk at start and
// returns the image reduced by k. It leaves d.pos after the last IDAT chunk
// the stream used.
func (d *pngDecoder) pixels(ctx context.Context, start int, length uint32, k int) (*image.NRGBA, error) {
	ir := &idatReader{d: d, start: start, length: length, remaining: length}
	zr, err := zlib.NewReader(ir)
	if err != nil {
		return nil, pngStreamError(err)
	}
	defer zr.Close()
	s := newPNGSink(d.hdr, k)
	conv := d.converter()
	bpp := (d.hdr.bitsPerPixel() + 7) / 8
	maxRow := d.hdr.rowBytes(d.hdr.w)
	cur, prev := make([]byte, maxRow), make([]byte, maxRow)
	rgb := make([]byte, 3*d.hdr.w)
	passes := []struct{ x, y, dx, dy int }{{0, 0, 1, 1}}
	if d.hdr.interlace {
		passes = adam7[:]
	}
	rows := 0
	for _, p := range passes {
		pw, ph := (d.hdr.w-p.x+p.dx-1)/p.dx, (d.hdr.h-p.y+p.dy-1)/p.dy
		if pw == 0 || ph == 0 {
			continue
		}
		n := d.hdr.rowBytes(pw)
		cr, pr := cur[:n], prev[:n]
		clear(pr)
		for py := range ph {
			if rows++; rows%pngCtxRows == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			if _, err := io.ReadFull(zr, cr); err != nil {
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					return nil, errPNG("not enough pixel data")
				}
				return nil, pngStreamError(err)
			}
			if err := unfilter(cr[0], cr[1:], pr[1:], bpp); err != nil {
				return nil, err
			}
			conv(rgb[:3*pw], cr[1:], pw)
			s.row(rgb[:3*pw], p.x, p.y+py*p.dy, p.dx)
			cr, pr = pr, cr
		}
	}
	// The stream must end here (which also checks zlib's checksum), and so
	// must the chunk it ends in.
	var one [1]byte
	n := 0
	for i := 0; n == 0 && err == nil; i++ {
		if i == 100 {
			return nil, errPNG("zlib stream makes no progress")
		}
		n, err = zr.Read(one[:])
	}
	if err != nil && err != io.EOF {
		return nil, pngStreamError(err)
	}
	if n != 0 || ir.remaining != 0 {
		return nil, errPNG("too much pixel data")
	}
	if _, err := d.body(ir.start, ir.length); err != nil {
		return nil, err
	}
	return s.finish(), nil
}

// pngStreamError wraps an error of the zlib stream (or of idatReader) as a
// corrupt file, keeping imageutil's own errors as they are.
func pngStreamError(err error) error {
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrFormat) {
		return err
	}
	return fmt.Errorf("%w: png: %w", ErrCorrupt, err)
}

// unfilter reverses the row filter ft on cdat, pdat being the previous
// row (unfiltered) and bpp the bytes per complete pixel (at least 1).
func unfilter(ft byte, cdat, pdat []byte, bpp int) error {
	switch ft {
	case 0:
	case 1: // Sub
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += cdat[i-bpp]
		}
	case 2: // Up
		for i, p := range pdat {
			cdat[i] += p
		}
	case 3: // Average
		for i := 0; i < bpp && i < len(cdat); i++ {
			cdat[i] += pdat[i] / 2
		}
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += uint8((int(cdat[i-bpp]) + int(pdat[i])) / 2)
		}
	case 4: // Paeth
		for i := 0; i < bpp && i < len(cdat); i++ {
			cdat[i] += pdat[i] // a and c are 0: the predictor is b
		}
		for i := bpp; i < len(cdat); i++ {
			a, b, c := int(cdat[i-bpp]), int(pdat[i]), int(pdat[i-bpp])
			pa, pb, pc := abs(b-c), abs(a-c), abs(a+b-2*c)
			switch {
			case pa <= pb && pa <= pc:
				cdat[i] += uint8(a)
			case pb <= pc:
				cdat[i] += uint8(b)
			default:
				cdat[i] += uint8(c)
			}
		}
	default:
		return errPNG("bad filter type %d", ft)
	}
	return nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// overWhite composites a premultiplied 16-bit colour over white and returns
// the 8-bit result, with image/draw's arithmetic (Over onto an opaque white
// *image.RGBA).
func overWhite(r, g, b, a uint32) (uint8, uint8, uint8) {
	wt := 0xff * ((0xffff - a) * 0x101) / 0xffff
	return uint8((wt + r) >> 8), uint8((wt + g) >> 8), uint8((wt + b) >> 8)
}

// nrgbaOverWhite is overWhite for a non-premultiplied 8-bit colour.
func nrgbaOverWhite(r, g, b, a uint8) (uint8, uint8, uint8) {
	if a == 0xff {
		return r, g, b
	}
	t := &over8()[a]
	return t[r], t[g], t[b]
}

// over8 returns the table of nrgbaOverWhite: over8()[a][c] is the 8-bit
// channel c of alpha a composited over white.
var over8 = sync.OnceValue(func() *[256][256]uint8 {
	var t [256][256]uint8
	for a := range 256 {
		sa := uint32(a) * 0x101
		for c := range 256 {
			t[a][c], _, _ = overWhite(uint32(c)*sa/0xff, 0, 0, sa)
		}
	}
	return &t
})

// nrgba64OverWhite is overWhite for a non-premultiplied 16-bit colour.
func nrgba64OverWhite(r, g, b, a uint32) (uint8, uint8, uint8) {
	return overWhite(r*a/0xffff, g*a/0xffff, b*a/0xffff, a)
}

// converter returns the function that turns n unfiltered pixels of a row
// into opaque 8-bit RGB triples, composited over white.
func (d *pngDecoder) converter() func(rgb, cdat []byte, n int) {
	h := d.hdr
	switch h.ctype {
	case pngPaletted:
		var lut [256][3]byte
		for i := range lut {
			c := d.plte[i] // opaque black beyond PLTE
			if i < d.ntrns {
				lut[i][0], lut[i][1], lut[i][2] = nrgbaOverWhite(c[0], c[1], c[2], d.trns[i])
			} else {
				lut[i] = c
			}
		}
		return func(rgb, cdat []byte, n int) {
			for x := range n {
				idx := subByte(cdat, x, h.depth)
				copy(rgb[3*x:3*x+3], lut[idx][:])
			}
		}
	case pngGray:
		switch {
		case h.depth < 8:
			scale := uint8(map[int]int{1: 0xff, 2: 0x55, 4: 0x11}[h.depth])
			ty := d.transparent[1]
			return func(rgb, cdat []byte, n int) {
				for x := range n {
					v := subByte(cdat, x, h.depth) * scale
					if d.useTransparent && v == ty {
						v = 0xff
					}
					rgb[3*x], rgb[3*x+1], rgb[3*x+2] = v, v, v
				}
			}
		case h.depth == 8:
			ty := d.transparent[1]
			return func(rgb, cdat []byte, n int) {
				for x := range n {
					v := cdat[x]
					if d.useTransparent && v == ty {
						v = 0xff
					}
					rgb[3*x], rgb[3*x+1], rgb[3*x+2] = v, v, v
				}
			}
		default:
			ty := binary.BigEndian.Uint16(d.transparent[:])
			return func(rgb, cdat []byte, n int) {
				for x := range n {
					y := binary.BigEndian.Uint16(cdat[2*x:])
					v := uint8(y >> 8)
					if d.useTransparent {
						a := uint32(0xffff)
						if y == ty {
							a = 0
						}
						v, _, _ = nrgba64OverWhite(uint32(y), 0, 0, a)
					}
					rgb[3*x], rgb[3*x+1], rgb[3*x+2] = v, v, v
				}
			}
		}
	case pngTrueColor:
		if h.depth == 8 {
			tr, tg, tb := d.transparent[1], d.transparent[3], d.transparent[5]
			return func(rgb, cdat []byte, n int) {
				copy(rgb[:3*n], cdat[:3*n])
				if !d.useTransparent {
					return
				}
				for x := range n {
					p := rgb[3*x : 3*x+3 : 3*x+3]
					if p[0] == tr && p[1] == tg && p[2] == tb {
						p[0], p[1], p[2] = 0xff, 0xff, 0xff
					}
				}
			}
		}
		t := d.transparent
		tr, tg, tb := binary.BigEndian.Uint16(t[0:]), binary.BigEndian.Uint16(t[2:]), binary.BigEndian.Uint16(t[4:])
		return func(rgb, cdat []byte, n int) {
			for x := range n {
				q := cdat[6*x : 6*x+6 : 6*x+6]
				r, g, b := binary.BigEndian.Uint16(q[0:]), binary.BigEndian.Uint16(q[2:]), binary.BigEndian.Uint16(q[4:])
				p := rgb[3*x : 3*x+3 : 3*x+3]
				if d.useTransparent && r == tr && g == tg && b == tb {
					p[0], p[1], p[2] = 0xff, 0xff, 0xff // alpha 0 over white
					continue
				}
				p[0], p[1], p[2] = uint8(r>>8), uint8(g>>8), uint8(b>>8)
			}
		}
	case pngGrayAlpha:
		if h.depth == 8 {
			return func(rgb, cdat []byte, n int) {
				for x := range n {
					v, _, _ := nrgbaOverWhite(cdat[2*x], 0, 0, cdat[2*x+1])
					rgb[3*x], rgb[3*x+1], rgb[3*x+2] = v, v, v
				}
			}
		}
		return func(rgb, cdat []byte, n int) {
			for x := range n {
				y, a := binary.BigEndian.Uint16(cdat[4*x:]), binary.BigEndian.Uint16(cdat[4*x+2:])
				v, _, _ := nrgba64OverWhite(uint32(y), 0, 0, uint32(a))
				rgb[3*x], rgb[3*x+1], rgb[3*x+2] = v, v, v
			}
		}
	}
	// pngRGBA
	if h.depth == 8 {
		lut := over8()
		return func(rgb, cdat []byte, n int) {
			for x := range n {
				q := cdat[4*x : 4*x+4 : 4*x+4]
				p := rgb[3*x : 3*x+3 : 3*x+3]
				if q[3] == 0xff {
					p[0], p[1], p[2] = q[0], q[1], q[2]
					continue
				}
				t := &lut[q[3]]
				p[0], p[1], p[2] = t[q[0]], t[q[1]], t[q[2]]
			}
		}
	}
	return func(rgb, cdat []byte, n int) {
		for x := range n {
			q := cdat[8*x : 8*x+8 : 8*x+8]
			r, g, b, a := binary.BigEndian.Uint16(q[0:]), binary.BigEndian.Uint16(q[2:]), binary.BigEndian.Uint16(q[4:]), binary.BigEndian.Uint16(q[6:])
			rgb[3*x], rgb[3*x+1], rgb[3*x+2] = nrgba64OverWhite(uint32(r), uint32(g), uint32(b), uint32(a))
		}
	}
}

// subByte returns sample x of a row of depth-bit samples (depth 1, 2, 4 or
// 8), most significant bits first.
func subByte(row []byte, x, depth int) uint8 {
	if depth == 8 {
		return row[x]
	}
	per := 8 / depth
	shift := uint(8 - depth*(x%per+1))
	return row[x/per] >> shift & (1<<uint(depth) - 1)
}

// maxPacked is the largest reduction whose block sums (255*k*k per
// channel) fit in 21 bits, three to a uint64.
const maxPacked = 90

// pngSink receives converted rows and builds the result: at full size it
// writes them in place; reduced by k, it sums each k x k block, one row of
// sums at a time for a sequential file, one sum per result pixel for an
// interlaced one (packed three to a uint32 in the result's own pixels for
// k = 2, three to a uint64 up to maxPacked, one per uint64 beyond).
type pngSink struct {
	w, h, k int
	rw, rh  int
	dst     *image.NRGBA
	seq     bool
	sums    []uint64 // sequential: 3 per result column
	acc     []uint64 // interlaced, k > 2
}

func newPNGSink(h pngHeader, k int) *pngSink {
	rw, rh := (h.w+k-1)/k, (h.h+k-1)/k
	s := &pngSink{w: h.w, h: h.h, k: k, rw: rw, rh: rh, seq: !h.interlace,
		dst: image.NewNRGBA(image.Rect(0, 0, rw, rh))}
	switch {
	case k == 1:
	case s.seq:
		s.sums = make([]uint64, 3*rw)
	case k <= 2:
	case k <= maxPacked:
		s.acc = make([]uint64, rw*rh)
	default:
		s.acc = make([]uint64, 3*rw*rh)
	}
	return s
}

// row takes the converted pixels of one row: pixel i is at (x0+i*dx, y) of
// the image.
func (s *pngSink) row(rgb []byte, x0, y, dx int) {
	n := len(rgb) / 3
	k := s.k
	if k == 1 {
		d := s.dst.Pix[y*s.dst.Stride:]
		if dx == 1 {
			d = d[4*x0 : 4*(x0+n)]
			for i := range n {
				q, p := d[4*i:4*i+4:4*i+4], rgb[3*i:3*i+3:3*i+3]
				q[0], q[1], q[2], q[3] = p[0], p[1], p[2], 0xff
			}
			return
		}
		for i := range n {
			x := x0 + i*dx
			q := d[4*x : 4*x+4 : 4*x+4]
			q[0], q[1], q[2], q[3] = rgb[3*i], rgb[3*i+1], rgb[3*i+2], 0xff
		}
		return
	}
	if s.seq {
		for rx := range s.rw {
			var r, g, b uint64
			for i := 3 * rx * k; i < 3*min(rx*k+k, s.w); i += 3 {
				p := rgb[i : i+3 : i+3]
				r += uint64(p[0])
				g += uint64(p[1])
				b += uint64(p[2])
			}
			q := s.sums[3*rx : 3*rx+3 : 3*rx+3]
			q[0] += r
			q[1] += g
			q[2] += b
		}
		if (y+1)%k == 0 || y == s.h-1 {
			ry := y / k
			nr := y - ry*k + 1 // rows in this block
			d := s.dst.Pix[ry*s.dst.Stride:]
			for rx := range s.rw {
				c := uint64(min(k, s.w-rx*k) * nr)
				q := s.sums[3*rx : 3*rx+3 : 3*rx+3]
				p := d[4*rx : 4*rx+4 : 4*rx+4]
				p[0], p[1], p[2], p[3] = uint8((q[0]+c/2)/c), uint8((q[1]+c/2)/c), uint8((q[2]+c/2)/c), 0xff
			}
			clear(s.sums)
		}
		return
	}
	base := (y / k) * s.rw
	for i := range n {
		j := base + (x0+i*dx)/k
		r, g, b := uint64(rgb[3*i]), uint64(rgb[3*i+1]), uint64(rgb[3*i+2])
		switch {
		case k == 2:
			q := s.dst.Pix[4*j : 4*j+4 : 4*j+4]
			v := binary.LittleEndian.Uint32(q) + uint32(r|g<<10|b<<20)
			binary.LittleEndian.PutUint32(q, v)
		case k <= maxPacked:
			s.acc[j] += r | g<<21 | b<<42
		default:
			s.acc[3*j] += r
			s.acc[3*j+1] += g
			s.acc[3*j+2] += b
		}
	}
}

// finish turns an interlaced image's block sums into means and returns the
// result.
func (s *pngSink) finish() *image.NRGBA {
	if s.k == 1 || s.seq {
		return s.dst
	}
	k := s.k
	for ry := range s.rh {
		for rx := range s.rw {
			j := ry*s.rw + rx
			c := uint64(min(k, s.w-rx*k) * min(k, s.h-ry*k))
			var r, g, b uint64
			q := s.dst.Pix[4*j : 4*j+4 : 4*j+4]
			switch {
			case k == 2:
				v := uint64(binary.LittleEndian.Uint32(q))
				r, g, b = v&0x3ff, v>>10&0x3ff, v>>20&0x3ff
			case k <= maxPacked:
				v := s.acc[j]
				r, g, b = v&(1<<21-1), v>>21&(1<<21-1), v>>42&(1<<21-1)
			default:
				r, g, b = s.acc[3*j], s.acc[3*j+1], s.acc[3*j+2]
			}
			q[0], q[1], q[2], q[3] = uint8((r+c/2)/c), uint8((g+c/2)/c), uint8((b+c/2)/c), 0xff
		}
	}
	return s.dst
}
