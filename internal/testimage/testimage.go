// Package testimage makes image files for tests that no Go encoder can
// produce (4-component Adobe JPEGs, lossless WebP bombs). It is used by the
// tests of imageutil, embed/internal/dlib and exclusion only.
package testimage

// JPEG4 writes a baseline 4-component JPEG with an Adobe APP14 segment
// (transform 0: CMYK stored inverted, as Adobe does; 2: YCCK), which no Go
// encoder can produce. Every 8x8 block is flat: its colour is comp(x, y) of
// the block's top-left pixel, coded as a DC coefficient only (quantizer 1,
// every AC coefficient zero, coded by a one-symbol end-of-block table).
func JPEG4(w, h int, transform byte, comp func(x, y int) [4]uint8) []byte {
	var out []byte
	seg := func(marker byte, p []byte) {
		out = append(out, 0xff, marker, byte((len(p)+2)>>8), byte(len(p)+2))
		out = append(out, p...)
	}
	out = append(out, 0xff, 0xd8)
	seg(0xee, append([]byte("Adobe\x00\x64\x00\x00\x00\x00"), transform))
	dqt := make([]byte, 65)
	for i := 1; i < 65; i++ {
		dqt[i] = 1
	}
	seg(0xdb, dqt)
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 4}
	for id := byte(1); id <= 4; id++ {
		sof = append(sof, id, 0x11, 0)
	}
	seg(0xc0, sof)
	dcBits := [16]byte{0, 1, 5, 1, 1, 1, 1, 1, 1} // the standard luminance DC table
	dht := append([]byte{0x00}, dcBits[:]...)
	for v := byte(0); v < 12; v++ {
		dht = append(dht, v)
	}
	dht = append(dht, 0x10, 1) // AC table 0: one code of length 1, EOB
	dht = append(dht, make([]byte, 15)...)
	dht = append(dht, 0x00)
	seg(0xc4, dht)
	seg(0xda, []byte{4, 1, 0, 2, 0, 3, 0, 4, 0, 0, 63, 0})

	// Canonical codes of the DC table.
	var dcCode [12]uint16
	var dcLen [12]uint8
	code, sym := uint16(0), 0
	for l := 1; l <= 16; l++ {
		for range int(dcBits[l-1]) {
			dcCode[sym], dcLen[sym] = code, uint8(l)
			code++
			sym++
		}
		code <<= 1
	}
	var acc uint32
	var n uint
	put := func(v uint32, bits uint) {
		for i := int(bits) - 1; i >= 0; i-- {
			acc = acc<<1 | (v>>uint(i))&1
			n++
			if n == 8 {
				out = append(out, byte(acc))
				if byte(acc) == 0xff {
					out = append(out, 0) // byte stuffing
				}
				acc, n = 0, 0
			}
		}
	}
	var pred [4]int
	for by := 0; by < (h+7)/8; by++ {
		for bx := 0; bx < (w+7)/8; bx++ {
			v := comp(8*bx, 8*by)
			for c := range 4 {
				dc := 8 * (int(v[c]) - 128)
				diff := dc - pred[c]
				pred[c] = dc
				a, s := diff, uint(0)
				if a < 0 {
					a = -a
				}
				for a > 0 {
					s++
					a >>= 1
				}
				put(uint32(dcCode[s]), uint(dcLen[s]))
				if s > 0 {
					bits := diff
					if diff < 0 {
						bits = diff + (1 << s) - 1
					}
					put(uint32(bits), s)
				}
				put(0, 1) // EOB
			}
		}
	}
	for n != 0 {
		put(1, 1) // pad with ones
	}
	return append(out, 0xff, 0xd9)
}

// WebPUniform returns a lossless (VP8L) w x h WebP of one colour (w and h
// at most 16384): every prefix code has a single symbol, so the pixels
// take no bits at all and a file of about 160 bytes expands to w*h pixels,
// which x/image/webp decodes in seconds for tens of megapixels without
// reading anything more.
func WebPUniform(w, h int) []byte {
	var bits []byte
	var acc uint64
	var n uint
	write := func(v uint64, k uint) { // least significant bit first, as VP8L reads
		acc |= v << n
		n += k
		for n >= 8 {
			bits = append(bits, byte(acc))
			acc >>= 8
			n -= 8
		}
	}
	write(0x2f, 8)
	write(uint64(w-1), 14)
	write(uint64(h-1), 14)
	write(0, 1+3+1+1+1) // alpha hint, version, no transform, no cache, no meta codes
	for _, sym := range []uint64{0x80, 0x40, 0x20, 0xff, 0} {
		write(1, 1) // simple code
		write(0, 1) // one symbol
		write(1, 1) // of 8 bits
		write(sym, 8)
	}
	if n > 0 {
		bits = append(bits, byte(acc))
	}
	out := []byte("RIFF\x00\x00\x00\x00WEBPVP8L")
	out = append(out, byte(len(bits)), byte(len(bits)>>8), byte(len(bits)>>16), byte(len(bits)>>24))
	out = append(out, bits...)
	if len(bits)%2 == 1 {
		out = append(out, 0)
	}
	size := len(out) - 8
	out[4], out[5], out[6], out[7] = byte(size), byte(size>>8), byte(size>>16), byte(size>>24)
	return out
}
