package imageutil

// Encoders and fixtures the tests generate themselves: the standard library
// and x/image encoders where they exist, and tiny hand-written writers for
// what they cannot produce (lossless WebP, 4-component JPEG, TIFF with an
// orientation tag, EXIF blocks).

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// Quadrant colours of the test pattern: each differs from the others in at
// least two channels by 255, so that rotations and mirrors are unambiguous
// even after JPEG.
var (
	quadTL = color.NRGBA{255, 0, 0, 255}   // red
	quadTR = color.NRGBA{0, 255, 0, 255}   // green
	quadBL = color.NRGBA{0, 0, 255, 255}   // blue
	quadBR = color.NRGBA{255, 255, 0, 255} // yellow
)

// quadrants returns a w x h image with a distinct colour per quadrant.
func quadrants(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := quadTL
			switch {
			case x >= w/2 && y < h/2:
				c = quadTR
			case x < w/2 && y >= h/2:
				c = quadBL
			case x >= w/2 && y >= h/2:
				c = quadBR
			}
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func encJPEG(t testing.TB, m image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encPNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encGIF(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encBMP(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := bmp.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encTIFF(t testing.TB, m image.Image, c tiff.CompressionType) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tiff.Encode(&b, m, &tiff.Options{Compression: c}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bitWriter writes bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf []byte
	acc uint64
	n   uint
}

func (w *bitWriter) write(v uint64, bits uint) {
	w.acc |= v << w.n
	w.n += bits
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	if w.n > 0 {
		return append(w.buf, byte(w.acc))
	}
	return w.buf
}

// encWebP writes a lossless (VP8L) WebP of m, whose every channel may take
// at most two values: each channel gets a "simple" prefix code of one or two
// 8-bit symbols, which is all a two-level image needs. With exif non-nil
// the file is an extended (VP8X) one with an EXIF chunk after the image.
func encWebP(t testing.TB, m *image.NRGBA, exif []byte) []byte {
	t.Helper()
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	var levels [4][]uint8 // per channel R, G, B, A: sorted distinct values
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := m.NRGBAAt(x, y)
			for i, v := range [4]uint8{c.R, c.G, c.B, c.A} {
				switch {
				case len(levels[i]) == 0:
					levels[i] = []uint8{v}
				case len(levels[i]) == 1 && levels[i][0] != v:
					levels[i] = append(levels[i], v)
					if levels[i][0] > v {
						levels[i][0], levels[i][1] = v, levels[i][0]
					}
				case len(levels[i]) == 2 && levels[i][0] != v && levels[i][1] != v:
					t.Fatalf("encWebP: channel %d has more than two values", i)
				}
			}
		}
	}
	var bw bitWriter
	bw.write(0x2f, 8)
	bw.write(uint64(w-1), 14)
	bw.write(uint64(h-1), 14)
	bw.write(0, 1) // alpha_is_used (a hint)
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	simple := func(syms []uint8) {
		bw.write(1, 1) // simple code
		bw.write(uint64(len(syms)-1), 1)
		bw.write(1, 1) // first symbol uses 8 bits
		for _, s := range syms {
			bw.write(uint64(s), 8)
		}
	}
	// Codes in VP8L order: green, red, blue, alpha, distance.
	for _, i := range []int{1, 0, 2, 3} {
		simple(levels[i])
	}
	simple([]uint8{0})
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := m.NRGBAAt(x, y)
			v := [4]uint8{c.R, c.G, c.B, c.A}
			for _, i := range []int{1, 0, 2, 3} {
				if len(levels[i]) == 2 {
					bit := uint64(0)
					if v[i] == levels[i][1] {
						bit = 1
					}
					bw.write(bit, 1)
				}
			}
		}
	}
	chunk := func(dst []byte, fourcc string, p []byte) []byte {
		dst = append(dst, fourcc...)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(p)))
		dst = append(dst, p...)
		if len(p)%2 == 1 {
			dst = append(dst, 0)
		}
		return dst
	}
	var body []byte
	if exif != nil {
		x := make([]byte, 10)
		x[0] = 1 << 3 // EXIF present
		x[4], x[5], x[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
		x[7], x[8], x[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
		body = chunk(body, "VP8X", x)
	}
	body = chunk(body, "VP8L", bw.bytes())
	if exif != nil {
		body = chunk(body, "EXIF", exif)
	}
	out := append([]byte("RIFF"), 0, 0, 0, 0)
	out = append(out, "WEBP"...)
	out = append(out, body...)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

// byteOrder is binary.LittleEndian or binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// exifTIFF returns a TIFF structure (as in an EXIF block) whose IFD0 holds a
// Make tag (stored out of line) and, unless o is 0, an orientation tag.
func exifTIFF(o int, bo byteOrder) []byte {
	var t []byte
	if bo == binary.BigEndian {
		t = []byte("MM\x00*")
	} else {
		t = []byte("II*\x00")
	}
	t = bo.AppendUint32(t, 8)
	n := 1
	if o != 0 {
		n = 2
	}
	t = bo.AppendUint16(t, uint16(n))
	mk := []byte("faceoptout test\x00")
	t = bo.AppendUint16(t, 0x010f) // Make, ASCII, out of line
	t = bo.AppendUint16(t, 2)
	t = bo.AppendUint32(t, uint32(len(mk)))
	t = bo.AppendUint32(t, uint32(8+2+12*n+4))
	if o != 0 {
		t = bo.AppendUint16(t, tagOrientation)
		t = bo.AppendUint16(t, 3) // SHORT
		t = bo.AppendUint32(t, 1)
		t = bo.AppendUint16(t, uint16(o))
		t = bo.AppendUint16(t, 0)
	}
	t = bo.AppendUint32(t, 0) // no next IFD
	return append(t, mk...)
}

// withJPEGEXIF inserts an APP1 EXIF segment holding tiffData after the SOI
// marker of a JPEG.
func withJPEGEXIF(jpg, tiffData []byte) []byte {
	p := append([]byte("Exif\x00\x00"), tiffData...)
	seg := []byte{0xff, 0xe1, byte((len(p) + 2) >> 8), byte(len(p) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, p...)
	return append(out, jpg[2:]...)
}

// pngChunk returns one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// withPNGEXIF inserts an eXIf chunk after the IHDR chunk of a PNG.
func withPNGEXIF(p, tiffData []byte) []byte {
	const ihdrEnd = 8 + 4 + 4 + 13 + 4
	out := append([]byte{}, p[:ihdrEnd]...)
	out = append(out, pngChunk("eXIf", tiffData)...)
	return append(out, p[ihdrEnd:]...)
}

// encTIFFOriented writes an uncompressed 8-bit RGB TIFF of m, with an
// orientation tag unless o is 0 (x/image/tiff writes none).
func encTIFFOriented(m *image.NRGBA, o int, bo byteOrder) []byte {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	type entry struct {
		tag, typ uint16
		count    uint32
		value    uint32
	}
	const ifdOff = 8
	entries := []entry{
		{256, 4, 1, uint32(w)},
		{257, 4, 1, uint32(h)},
		{258, 3, 3, 0}, // BitsPerSample: offset filled in below
		{259, 3, 1, 1}, // no compression
		{262, 3, 1, 2}, // RGB
		{273, 4, 1, 0}, // StripOffsets: filled in below
		{274, 3, 1, uint32(o)},
		{277, 3, 1, 3},
		{278, 4, 1, uint32(h)},
		{279, 4, 1, uint32(3 * w * h)},
	}
	if o == 0 {
		entries = append(entries[:6], entries[7:]...)
	}
	bpsOff := uint32(ifdOff + 2 + 12*len(entries) + 4)
	stripOff := bpsOff + 6
	var t []byte
	if bo == binary.BigEndian {
		t = []byte("MM\x00*")
	} else {
		t = []byte("II*\x00")
	}
	t = bo.AppendUint32(t, ifdOff)
	t = bo.AppendUint16(t, uint16(len(entries)))
	for _, e := range entries {
		switch e.tag {
		case 258:
			e.value = bpsOff
		case 273:
			e.value = stripOff
		}
		t = bo.AppendUint16(t, e.tag)
		t = bo.AppendUint16(t, e.typ)
		t = bo.AppendUint32(t, e.count)
		if e.typ == 3 && e.count == 1 {
			t = bo.AppendUint16(t, uint16(e.value))
			t = bo.AppendUint16(t, 0)
		} else {
			t = bo.AppendUint32(t, e.value)
		}
	}
	t = bo.AppendUint32(t, 0)
	for range 3 {
		t = bo.AppendUint16(t, 8)
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := m.NRGBAAt(x, y)
			t = append(t, c.R, c.G, c.B)
		}
	}
	return t
}

// near reports whether two colours differ by at most tol in each channel.
func near(a, b color.NRGBA, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && d(a.A, b.A)
}
