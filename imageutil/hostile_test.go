package imageutil

// The hostile corpus: files made by the tests (nothing downloaded) that
// attack a decoder's memory, time or parsers. TestHostileCorpus checks the
// outcome of every case in process; BenchmarkHostile decodes each in a
// fresh child process and reports its wall time and peak RSS (VmHWM).

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"math/rand/v2"
	"testing"

	"github.com/faceoptout/faceoptout/internal/testimage"
)

// hostileCase is one file of the corpus and what Decode must make of it.
type hostileCase struct {
	name string
	make func(t testing.TB) []byte
	// want is nil for a decoded image of size w x h, else the sentinel the
	// error wraps; anyOutcome accepts an image or any typed error (bit
	// flips).
	want       error
	w, h       int
	anyOutcome bool
	// heavy marks cases that decode tens of megapixels: skipped in process
	// under the race detector and -short.
	heavy bool
}

func hostileCorpus() []hostileCase {
	var cases []hostileCase
	for _, f := range []string{FormatJPEG, FormatPNG, FormatGIF, FormatBMP, FormatTIFF} {
		cases = append(cases, hostileCase{
			name: "claim-65535x65535/" + f,
			make: func(t testing.TB) []byte { return bombs(t, 65535, 65535)[f] },
			want: ErrTooLarge,
		})
	}
	cases = append(cases, hostileCase{ // WebP's largest canvas for a VP8L image
		name: "claim-16384x16384/webp",
		make: func(t testing.TB) []byte { return bombs(t, 16384, 16384)[FormatWebP] },
		want: ErrTooLarge,
	})
	cases = append(cases,
		hostileCase{name: "png-bomb/36MP-rgb-under", make: func(testing.TB) []byte { return pngBomb(6000, 6000, 2, 8) }, w: 6000, h: 6000, heavy: true},
		hostileCase{name: "png-bomb/40MP-rgba-at-limit", make: func(testing.TB) []byte { return pngBomb(8000, 5000, 6, 8) }, w: 8000, h: 5000, heavy: true},
		// Refused from the header: its pixel data (64 bytes) is never read.
		hostileCase{name: "png-bomb/41MP-over", make: func(testing.TB) []byte { return pngZeros(6400, 6400, 2, 8, 0, 64) }, want: ErrTooLarge},
		hostileCase{name: "png-bomb/36MP-16bit", make: func(testing.TB) []byte { return pngBomb(6000, 6000, 2, 16) }, w: 6000, h: 6000, heavy: true},
		// One row of 40 M pixels: two raw 16-bit RGBA rows are 640 MB.
		hostileCase{name: "png-bomb/40Mx1-rgba16-rows-over-memory", make: func(testing.TB) []byte { return pngZeros(40_000_000, 1, 6, 16, 0, 64) }, want: ErrTooLarge},
		hostileCase{name: "png-bomb/36MP-gray-interlaced", make: func(testing.TB) []byte { return pngBombInterlaced(6000, 6000) }, w: 6000, h: 6000, heavy: true},
		hostileCase{name: "gif-bomb/36MP-one-frame", make: func(t testing.TB) []byte { return gifFrames(t, 6000, 6000, 1) }, w: 6000, h: 6000, heavy: true},
		hostileCase{name: "gif/5000-frames", make: func(t testing.TB) []byte { return gifFrames(t, 64, 64, 5000) }, w: 64, h: 64},
		hostileCase{name: "webp-bomb/16383x2441-lossless", make: func(testing.TB) []byte { return webpUniform(16383, 2441) }, w: 16383, h: 2441, heavy: true},
		hostileCase{name: "webp-bomb/16383x2442-over", make: func(testing.TB) []byte { return webpUniform(16383, 2442) }, want: ErrTooLarge},
		// Refused from the header: its strip (one row) is never read.
		hostileCase{name: "tiff-bomb/36MP-deflate-over-memory", make: func(t testing.TB) []byte { return tiffDeflateBomb(6000, 6000, 1) }, want: ErrTooLarge},
		hostileCase{name: "tiff-bomb/16MP-deflate", make: func(t testing.TB) []byte { return tiffDeflateBomb(4000, 4000, 4000) }, w: 4000, h: 4000, heavy: true},
		hostileCase{name: "jpeg-progressive/1000-scans-16MP", make: func(testing.TB) []byte { return progressiveJPEG(4096, 4096, 1000) }, want: ErrTooLarge},
		hostileCase{name: "jpeg-progressive/65-scans-1MP", make: func(testing.TB) []byte { return progressiveJPEG(1024, 1024, 65) }, want: ErrTooLarge},
		hostileCase{name: "jpeg-progressive/64-scans-1MP", make: func(testing.TB) []byte { return progressiveJPEG(1024, 1024, 64) }, w: 1024, h: 1024},
		hostileCase{name: "jpeg-progressive/64-scans-28MP-largest", make: func(testing.TB) []byte { return progressiveJPEG(8192, 3456, 64) }, w: 8192, h: 3456, heavy: true},
		hostileCase{name: "exif/1024-entries-looping-ifd", make: func(t testing.TB) []byte { return withJPEGEXIF(encJPEG(t, quadrants(64, 64), 80), loopingEXIF()) }, w: 64, h: 64},
		hostileCase{name: "exif/300-segments-of-64KiB", make: func(t testing.TB) []byte { return manyAPP1(encJPEG(t, quadrants(64, 64), 80), 300) }, w: 64, h: 64},
		hostileCase{name: "exif/png-eXIf-orientation-beyond-chunk", make: func(t testing.TB) []byte { return withPNGEXIF(encPNG(t, quadrants(64, 64)), lyingEXIF()) }, w: 64, h: 64},
		hostileCase{name: "polyglot/png+zip", make: func(t testing.TB) []byte { return appendZip(t, encPNG(t, quadrants(64, 48))) }, w: 64, h: 48},
		hostileCase{name: "polyglot/jpeg+zip", make: func(t testing.TB) []byte { return appendZip(t, encJPEG(t, quadrants(64, 48), 80)) }, w: 64, h: 48},
		hostileCase{name: "polyglot/zip-first", make: func(t testing.TB) []byte { return appendZip(t, nil) }, want: ErrFormat},
		hostileCase{name: "wrong-name/html", make: func(testing.TB) []byte { return []byte("<!doctype html><img src=x onerror=alert(1)>") }, want: ErrFormat},
	)
	for _, f := range []string{FormatJPEG, FormatPNG, FormatGIF, FormatWebP, FormatBMP, FormatTIFF} {
		cases = append(cases,
			hostileCase{name: "truncated-header/" + f, make: func(t testing.TB) []byte { return formatSamples(t)[f][:20] }, want: ErrCorrupt},
			hostileCase{name: "truncated-half/" + f, make: func(t testing.TB) []byte {
				d := formatSamples(t)[f]
				return d[:len(d)/2]
			}, want: ErrCorrupt},
		)
		for seed := range uint64(8) {
			cases = append(cases, hostileCase{name: fmt.Sprintf("bit-flips/%s/%d", f, seed), make: func(t testing.TB) []byte {
				return flipBits(formatSamples(t)[f], seed, 1+int(seed))
			}, anyOutcome: true})
		}
	}
	return cases
}

// check reports how m, err differ from what c wants.
func (c hostileCase) check(m *Image, err error) error {
	if err != nil {
		if m != nil {
			return errors.New("an image and an error")
		}
		if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrCorrupt) {
			return fmt.Errorf("untyped error %v", err)
		}
		if c.anyOutcome || (c.want != nil && errors.Is(err, c.want)) {
			return nil
		}
		return fmt.Errorf("error %v, want %v", err, c.want)
	}
	if c.anyOutcome {
		return nil
	}
	if c.want != nil {
		return fmt.Errorf("decoded %v, want error %v", m.Bounds(), c.want)
	}
	if m.Bounds() != image.Rect(0, 0, c.w, c.h) {
		return fmt.Errorf("decoded %v, want %dx%d", m.Bounds(), c.w, c.h)
	}
	return nil
}

// TestHostileCorpus decodes every case of the corpus with the default
// limits: each gives the typed error or the image it must.
func TestHostileCorpus(t *testing.T) {
	for _, c := range hostileCorpus() {
		t.Run(c.name, func(t *testing.T) {
			if c.heavy && (raceEnabled || testing.Short()) {
				t.Skip("tens of megapixels: run without -race and -short, or BenchmarkHostile")
			}
			m, err := DecodeBytes(c.make(t))
			if e := c.check(m, err); e != nil {
				t.Fatal(e)
			}
			if m != nil {
				checkOpaque(t, m.RGB)
			}
		})
	}
}

// pngBomb returns a w x h PNG of zero bytes, colour type ct (2 RGB, 6 RGBA)
// and the given bit depth, compressed to about 1/1000 of its pixels.
func pngBomb(w, h int, ct byte, depth byte) []byte {
	ch := map[byte]int{0: 1, 2: 3, 6: 4}[ct]
	return pngZeros(w, h, ct, depth, 0, (1+w*ch*int(depth)/8)*h)
}

// pngBombInterlaced is an Adam7-interlaced 8-bit grayscale w x h PNG of
// zero bytes (w and h multiples of 8).
func pngBombInterlaced(w, h int) []byte {
	// Each pass row: a filter byte and its pixels.
	n := 0
	for _, p := range []struct{ x, y, dx, dy int }{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
		pw, ph := (w-p.x+p.dx-1)/p.dx, (h-p.y+p.dy-1)/p.dy
		n += ph * (1 + pw)
	}
	return pngZeros(w, h, 0, 8, 1, n)
}

// pngZeros writes a PNG header and an IDAT of n zero bytes (row filter 0,
// black pixels).
func pngZeros(w, h int, ct, depth, interlace byte, n int) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9], ihdr[12] = depth, ct, interlace
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zeros := make([]byte, 1<<16)
	for n > 0 {
		k, _ := zw.Write(zeros[:min(n, len(zeros))])
		n -= k
	}
	_ = zw.Close()
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", z.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}

// gifFrames returns a GIF of n frames of w x h, one colour each.
func gifFrames(t testing.TB, w, h, n int) []byte {
	pal := color.Palette{color.Black, color.White}
	g := &gif.GIF{Config: image.Config{ColorModel: pal, Width: w, Height: h}}
	frame := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for range n {
		g.Image = append(g.Image, frame)
		g.Delay = append(g.Delay, 0)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// webpUniform is testimage.WebPUniform: a lossless w x h WebP of one
// colour whose pixels take no bits at all.
func webpUniform(w, h int) []byte { return testimage.WebPUniform(w, h) }

// tiffDeflateBomb returns a w x h 8-bit RGB TIFF of zeros in one
// Deflate-compressed strip holding the first rows rows (all h for a valid
// file; fewer for one refused from its header).
func tiffDeflateBomb(w, h, rows int) []byte {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	row := make([]byte, 3*w)
	for range rows {
		_, _ = zw.Write(row)
	}
	_ = zw.Close()
	le := binary.LittleEndian
	type entry struct {
		tag, typ uint16
		n, v     uint32
	}
	const nEntries = 10
	ifdOff := uint32(8)
	bpsOff := ifdOff + 2 + 12*nEntries + 4
	dataOff := bpsOff + 6
	entries := []entry{
		{256, 4, 1, uint32(w)},       // ImageWidth
		{257, 4, 1, uint32(h)},       // ImageLength
		{258, 3, 3, bpsOff},          // BitsPerSample 8,8,8
		{259, 3, 1, 8},               // Compression: Deflate
		{262, 3, 1, 2},               // Photometric: RGB
		{273, 4, 1, dataOff},         // StripOffsets
		{277, 3, 1, 3},               // SamplesPerPixel
		{278, 4, 1, uint32(h)},       // RowsPerStrip
		{279, 4, 1, uint32(z.Len())}, // StripByteCounts
		{284, 3, 1, 1},               // PlanarConfiguration: chunky
	}
	out := []byte("II*\x00")
	out = le.AppendUint32(out, ifdOff)
	out = le.AppendUint16(out, nEntries)
	for _, e := range entries {
		out = le.AppendUint16(out, e.tag)
		out = le.AppendUint16(out, e.typ)
		out = le.AppendUint32(out, e.n)
		if e.typ == 3 && e.n == 1 {
			out = le.AppendUint16(out, uint16(e.v))
			out = le.AppendUint16(out, 0)
		} else {
			out = le.AppendUint32(out, e.v)
		}
	}
	out = le.AppendUint32(out, 0) // no next IFD
	out = append(out, 8, 0, 8, 0, 8, 0)
	return append(out, z.Bytes()...)
}

// progressiveJPEG returns a progressive grayscale w x h JPEG (w*h/64 a
// multiple of 16384) of mid-gray with one DC scan and scans-1 AC scans, each
// a run of end-of-band codes: tiny on disk, and every scan visits every
// block.
func progressiveJPEG(w, h, scans int) []byte {
	blocks := w / 8 * h / 8
	out := []byte{0xff, 0xd8}
	seg := func(marker byte, p []byte) {
		out = append(out, 0xff, marker)
		out = binary.BigEndian.AppendUint16(out, uint16(len(p)+2))
		out = append(out, p...)
	}
	dqt := make([]byte, 65)
	for i := 1; i < 65; i++ {
		dqt[i] = 1
	}
	seg(0xdb, dqt)
	sof := []byte{8, 0, 0, 0, 0, 1, 1, 0x11, 0}
	binary.BigEndian.PutUint16(sof[1:], uint16(h))
	binary.BigEndian.PutUint16(sof[3:], uint16(w))
	seg(0xc2, sof)
	// DC table 0: one 1-bit code for category 0; AC table 0: one 1-bit
	// code for EOB run class 14 (16384 + 14 extra bits).
	dht := []byte{0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00}
	dht = append(dht, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe0)
	seg(0xc4, dht)
	seg(0xda, []byte{1, 1, 0x00, 0, 0, 0x00})
	out = append(out, make([]byte, (blocks+7)/8)...) // a 0 bit per block
	// Each AC scan: blocks/16384 runs of 15 zero bits, padded with ones.
	runs := blocks / 16384
	bits := 15 * runs
	ac := make([]byte, (bits+7)/8)
	if bits%8 != 0 {
		ac[len(ac)-1] = byte(1<<(8-bits%8)) - 1
	}
	for range scans - 1 {
		seg(0xda, []byte{1, 1, 0x00, 1, 63, 0x00})
		out = append(out, ac...)
	}
	return append(out, 0xff, 0xd9)
}

// loopingEXIF is an EXIF block whose IFD0 has 1024 entries (none of them
// the orientation) and then points back at itself.
func loopingEXIF() []byte {
	be := binary.BigEndian
	out := []byte("MM\x00*\x00\x00\x00\x08")
	out = be.AppendUint16(out, 1024)
	for i := range 1024 {
		out = be.AppendUint16(out, uint16(0x8000+i))
		out = be.AppendUint16(out, 4)
		out = be.AppendUint32(out, 0xffffffff) // absurd count
		out = be.AppendUint32(out, 8)          // value offset: IFD0 again
	}
	return be.AppendUint32(out, 8) // next IFD: itself
}

// lyingEXIF is an EXIF block whose IFD0 claims 65535 entries.
func lyingEXIF() []byte {
	out := []byte("II*\x00\x08\x00\x00\x00\xff\xff")
	return append(out, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0)
}

// manyAPP1 inserts n APP1 segments of 65533 payload bytes (each an EXIF
// header followed by junk) after a JPEG's SOI.
func manyAPP1(j []byte, n int) []byte {
	seg := make([]byte, 65537)
	seg[0], seg[1], seg[2], seg[3] = 0xff, 0xe1, 0xff, 0xff
	copy(seg[4:], "Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff")
	rng := rand.New(rand.NewPCG(3, 3))
	for i := 4 + 18; i < len(seg); i++ {
		seg[i] = byte(rng.Uint32())
	}
	out := append([]byte{}, j[:2]...)
	for range n {
		out = append(out, seg...)
	}
	return append(out, j[2:]...)
}

// appendZip appends a ZIP archive (one file) to data; ZIP readers find the
// archive from its end, image decoders read the image from the start.
func appendZip(t testing.TB, data []byte) []byte {
	b := bytes.NewBuffer(append([]byte{}, data...))
	zw := zip.NewWriter(b)
	zw.SetOffset(int64(len(data)))
	f, err := zw.Create("payload.html")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte("<script>alert(1)</script>"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// flipBits returns a copy of data with n random bits flipped (never in the
// first 4 bytes, so the format is still sniffed), and PNG chunk CRCs
// recomputed so the flips reach the decoder's parser.
func flipBits(data []byte, seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 99))
	b := append([]byte{}, data...)
	for range n {
		i := 4 + rng.IntN(len(b)-4)
		b[i] ^= 1 << rng.IntN(8)
	}
	if bytes.HasPrefix(b, []byte("\x89PNG")) {
		for i := 8; i+12 <= len(b); {
			l := int(binary.BigEndian.Uint32(b[i:]))
			if l < 0 || i+12+l > len(b) {
				break
			}
			binary.BigEndian.PutUint32(b[i+8+l:], crc32.ChecksumIEEE(b[i+4:i+8+l]))
			i += 12 + l
		}
	}
	return b
}
