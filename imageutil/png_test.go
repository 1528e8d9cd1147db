package imageutil

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// pngSpec describes a PNG for pngEncode, the tests' own encoder: it writes
// every colour type and bit depth, Adam7, tRNS and short palettes, with a
// random filter per row, none of which image/png's encoder can all do.
type pngSpec struct {
	w, h      int
	ct, depth int
	interlace bool
	// plte is the number of PLTE entries of a paletted image (indices up to
	// 2^depth-1 are written, so a short palette has out-of-range indices).
	plte int
	// trns is the tRNS payload length for a paletted image (0: none); for
	// gray and truecolor, any non-zero value adds a tRNS matching the
	// first pixel, with garbage in the high byte of 8-bit samples.
	trns int
	// idats splits the zlib stream into this many IDAT chunks (at least 1).
	idats int
	seed  uint64
}

func (s pngSpec) String() string {
	il := ""
	if s.interlace {
		il = "-adam7"
	}
	return fmt.Sprintf("ct%d-d%d%s-%dx%d-plte%d-trns%d", s.ct, s.depth, il, s.w, s.h, s.plte, s.trns)
}

func (s pngSpec) channels() int {
	return map[int]int{pngGray: 1, pngTrueColor: 3, pngPaletted: 1, pngGrayAlpha: 2, pngRGBA: 4}[s.ct]
}

// pngEncode writes s with random samples drawn from a few values, so that
// tRNS colours and equal neighbours occur.
func pngEncode(s pngSpec) []byte {
	rng := rand.New(rand.NewPCG(s.seed, uint64(s.w*131+s.h)))
	ch := s.channels()
	maxv := 1<<s.depth - 1
	vals := []int{0, maxv, rng.IntN(maxv + 1), rng.IntN(maxv + 1), rng.IntN(maxv + 1)}
	samples := make([]int, s.w*s.h*ch)
	for i := range samples {
		samples[i] = vals[rng.IntN(len(vals))]
		if rng.IntN(4) == 0 {
			samples[i] = rng.IntN(maxv + 1)
		}
	}
	hdr := pngHeader{w: s.w, h: s.h, depth: s.depth, ctype: s.ct, interlace: s.interlace}
	bpp := (hdr.bitsPerPixel() + 7) / 8
	var raw bytes.Buffer
	passes := []struct{ x, y, dx, dy int }{{0, 0, 1, 1}}
	if s.interlace {
		passes = adam7[:]
	}
	for _, p := range passes {
		pw, ph := (s.w-p.x+p.dx-1)/p.dx, (s.h-p.y+p.dy-1)/p.dy
		if pw == 0 || ph == 0 {
			continue
		}
		n := int(hdr.rowBytes(pw)) - 1
		prev := make([]byte, n)
		for py := range ph {
			row := make([]byte, n)
			bit := 0
			for px := range pw {
				x, y := p.x+px*p.dx, p.y+py*p.dy
				for c := range ch {
					v := samples[(y*s.w+x)*ch+c]
					switch s.depth {
					case 16:
						binary.BigEndian.PutUint16(row[bit/8:], uint16(v))
					case 8:
						row[bit/8] = byte(v)
					default:
						row[bit/8] |= byte(v) << (8 - s.depth - bit%8)
					}
					bit += s.depth
				}
			}
			ft := byte(rng.IntN(5))
			raw.WriteByte(ft)
			raw.Write(filterRow(ft, row, prev, bpp))
			prev = row
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()

	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(s.w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(s.h))
	ihdr[8], ihdr[9] = byte(s.depth), byte(s.ct)
	if s.interlace {
		ihdr[12] = 1
	}
	out := []byte(pngSignature)
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("tEXt", []byte("Comment\x00made by pngEncode"))...)
	if s.ct == pngPaletted {
		plte := make([]byte, 3*s.plte)
		for i := range plte {
			plte[i] = byte(rng.IntN(256))
		}
		out = append(out, pngChunk("PLTE", plte)...)
	}
	switch {
	case s.trns == 0:
	case s.ct == pngPaletted:
		t := make([]byte, s.trns)
		for i := range t {
			t[i] = []byte{0, 0xff, 0x80, byte(rng.IntN(256))}[rng.IntN(4)]
		}
		out = append(out, pngChunk("tRNS", t)...)
	case s.ct == pngGray || s.ct == pngTrueColor:
		var t []byte
		for c := range s.channels() {
			v := uint16(samples[c])
			if s.depth == 8 {
				v |= uint16(rng.IntN(2)) << 8 // image/png reads the low byte only
			}
			t = binary.BigEndian.AppendUint16(t, v)
		}
		out = append(out, pngChunk("tRNS", t)...)
	}
	zb := z.Bytes()
	parts := max(s.idats, 1)
	for i := range parts {
		out = append(out, pngChunk("IDAT", zb[i*len(zb)/parts:(i+1)*len(zb)/parts])...)
	}
	return append(out, pngChunk("IEND", nil)...)
}

// filterRow applies filter ft to row (prev being the previous raw row).
func filterRow(ft byte, row, prev []byte, bpp int) []byte {
	out := make([]byte, len(row))
	for i := range row {
		var a, b, c int
		if i >= bpp {
			a, c = int(row[i-bpp]), int(prev[i-bpp])
		}
		b = int(prev[i])
		var pred int
		switch ft {
		case 1:
			pred = a
		case 2:
			pred = b
		case 3:
			pred = (a + b) / 2
		case 4:
			pa, pb, pc := abs(b-c), abs(a-c), abs(a+b-2*c)
			switch {
			case pa <= pb && pa <= pc:
				pred = a
			case pb <= pc:
				pred = b
			default:
				pred = c
			}
		}
		out[i] = row[i] - byte(pred)
	}
	return out
}

// pngReference decodes data with image/png and reduces it by k as Decode
// did before imageutil had its own PNG decoder: reduce for k > 1, else
// the in-place conversion or convert.
func pngReference(data []byte, k int) (*image.NRGBA, error) {
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	canvas := image.Rect(0, 0, img.Bounds().Dx(), img.Bounds().Dy())
	if k > 1 {
		return reduce(img, canvas, k), nil
	}
	if m, ok := convertInPlace(img, canvas); ok {
		return m, nil
	}
	return convert(img, canvas, 1), nil
}

// budgetFor returns a pixel budget that makes Decode reduce a w x h image
// by k, ok false when no budget does.
func budgetFor(w, h, k int) (int64, bool) {
	b := int64((w+k-1)/k) * int64((h+k-1)/k)
	if k == 1 {
		b = 0
	}
	return b, reduction(w, h, b) == k
}

// comparePNG decodes data with decodePNG reduced by k and with the
// reference, and reports how they differ: both must fail, or give the same
// pixels.
func comparePNG(data []byte, k int) error {
	want, werr := pngReference(data, k)
	budget, _ := budgetFor(1, 1, 1)
	if cfg, err := png.DecodeConfig(bytes.NewReader(data)); err == nil {
		budget, _ = budgetFor(cfg.Width, cfg.Height, k)
	}
	o := newOptions([]Option{WithPixelBudget(budget)})
	got, _, gk, gerr := decodePNG(context.Background(), data, o)
	switch {
	case werr != nil && gerr != nil:
		return nil
	case werr != nil:
		return fmt.Errorf("image/png: %v; decodePNG: %v image", werr, got.Bounds())
	case gerr != nil:
		return fmt.Errorf("image/png: %v image; decodePNG: %v", want.Bounds(), gerr)
	case gk != k:
		return fmt.Errorf("reduction %d, want %d", gk, k)
	case got.Rect != want.Rect:
		return fmt.Errorf("bounds %v, want %v", got.Rect, want.Rect)
	}
	for y := range want.Rect.Dy() {
		g := got.Pix[y*got.Stride : y*got.Stride+4*want.Rect.Dx()]
		w := want.Pix[y*want.Stride : y*want.Stride+4*want.Rect.Dx()]
		if !bytes.Equal(g, w) {
			for x := 0; x < len(g); x += 4 {
				if !bytes.Equal(g[x:x+4], w[x:x+4]) {
					return fmt.Errorf("pixel (%d,%d) = %v, want %v", x/4, y, g[x:x+4], w[x:x+4])
				}
			}
		}
	}
	return nil
}

// pngTable is every colour type and bit depth, sequential and Adam7, with
// and without transparency, short palettes, at odd sizes.
func pngTable() []pngSpec {
	type ctd struct{ ct, depth int }
	var combos []ctd
	for _, d := range []int{1, 2, 4, 8, 16} {
		combos = append(combos, ctd{pngGray, d})
	}
	for _, d := range []int{1, 2, 4, 8} {
		combos = append(combos, ctd{pngPaletted, d})
	}
	for _, ct := range []int{pngTrueColor, pngGrayAlpha, pngRGBA} {
		combos = append(combos, ctd{ct, 8}, ctd{ct, 16})
	}
	sizes := [][2]int{{1, 1}, {2, 1}, {1, 3}, {3, 5}, {7, 9}, {13, 11}, {17, 3}, {33, 21}}
	var specs []pngSpec
	seed := uint64(1)
	for _, c := range combos {
		var variants []pngSpec
		switch c.ct {
		case pngPaletted:
			full := 1 << c.depth
			variants = []pngSpec{
				{plte: full},
				{plte: max(full/2, 1)},             // out-of-range indices: opaque black
				{plte: full, trns: full / 2},       // some entries translucent
				{plte: max(full/2, 1), trns: full}, // tRNS longer than PLTE
			}
		case pngGray, pngTrueColor:
			variants = []pngSpec{{}, {trns: 1}}
		default:
			variants = []pngSpec{{}}
		}
		for _, v := range variants {
			for _, il := range []bool{false, true} {
				for i, sz := range sizes {
					s := v
					s.ct, s.depth, s.interlace = c.ct, c.depth, il
					s.w, s.h = sz[0], sz[1]
					s.idats = 1 + i%3
					s.seed = seed
					seed++
					specs = append(specs, s)
				}
			}
		}
	}
	return specs
}

// TestPNGDifferential decodes a generated table of PNGs (every colour type
// x bit depth x interlace x odd sizes, with transparency and short
// palettes) reduced by k = 1 to 4, and compares each with image/png's image
// composited and reduced as before: the same pixels, byte for byte.
func TestPNGDifferential(t *testing.T) {
	n := 0
	for _, s := range pngTable() {
		data := pngEncode(s)
		for k := 1; k <= 4; k++ {
			if _, ok := budgetFor(s.w, s.h, k); !ok {
				continue
			}
			n++
			if err := comparePNG(data, k); err != nil {
				t.Errorf("%v k=%d: %v", s, k, err)
			}
		}
	}
	t.Logf("%d decodes compared", n)
}

// TestPNGLargeReduction covers the packed and unpacked block sums of
// interlaced images (k above 2, above maxPacked).
func TestPNGLargeReduction(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    pngSpec
		k    int
	}{
		{"packed k=5", pngSpec{w: 61, h: 47, ct: pngRGBA, depth: 8, interlace: true}, 5},
		{"packed k=90", pngSpec{w: 180, h: 175, ct: pngTrueColor, depth: 16, interlace: true}, 90},
		{"unpacked k=91", pngSpec{w: 182, h: 177, ct: pngGrayAlpha, depth: 8, interlace: true}, 91},
		{"sequential k=91", pngSpec{w: 182, h: 177, ct: pngGray, depth: 4}, 91},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := budgetFor(tt.s.w, tt.s.h, tt.k); !ok {
				t.Fatalf("no budget reduces %dx%d by %d", tt.s.w, tt.s.h, tt.k)
			}
			if err := comparePNG(pngEncode(tt.s), tt.k); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestPNGMalformed: damaged files fail in both decoders, or in neither
// with the same pixels (image/png accepts some damage: trailing IDAT
// chunks, unknown chunks before IHDR, trailing bytes after IEND).
func TestPNGMalformed(t *testing.T) {
	good := pngEncode(pngSpec{w: 9, h: 7, ct: pngTrueColor, depth: 8, idats: 2, seed: 7})
	chunkAt := func(typ string) int { return bytes.Index(good, []byte(typ)) - 4 }
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	ihdr := good[8 : 8+25]
	iend := pngChunk("IEND", nil)
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"good", good, true},
		{"bad signature", edit(func(b []byte) []byte { b[1] = 'Q'; return b }), false},
		{"IHDR checksum", edit(func(b []byte) []byte { b[8+8+12]++; return b }), false},
		{"IDAT checksum", edit(func(b []byte) []byte { i := chunkAt("IDAT"); b[i+8]++; return b }), false},
		{"no IEND", good[:len(good)-12], false},
		{"bytes after IEND", append(bytes.Clone(good), "trailing"...), true},
		{"chunk before IHDR", append(append([]byte(pngSignature), pngChunk("tEXt", []byte("a\x00b"))...), good[8:]...), true},
		{"two IHDR", append(append([]byte(pngSignature), ihdr...), good[8:]...), false},
		{"IEND first", append(append([]byte(pngSignature), iend...), good[8:]...), false},
		{"extra IDAT after stream", append(bytes.Clone(good[:len(good)-12]), append(pngChunk("IDAT", []byte("junk")), iend...)...), true},
		{"PLTE after IDAT", append(bytes.Clone(good[:len(good)-12]), append(pngChunk("PLTE", make([]byte, 6)), iend...)...), false},
		{"truncated IDAT", good[:chunkAt("IDAT")+20], false},
		{"bad filter", pngWithRaw(t, 4, 2, pngTrueColor, 8, append([]byte{5}, make([]byte, 12+13)...)), false},
		{"short stream", pngWithRaw(t, 4, 2, pngTrueColor, 8, make([]byte, 20)), false},
		{"long stream", pngWithRaw(t, 4, 2, pngTrueColor, 8, make([]byte, 27)), false},
		{"exact stream", pngWithRaw(t, 4, 2, pngTrueColor, 8, make([]byte, 26)), true},
		{"bad depth", pngWithRaw(t, 4, 2, pngTrueColor, 4, make([]byte, 26)), false},
		{"paletted without PLTE", pngWithRaw(t, 4, 2, pngPaletted, 8, make([]byte, 10)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := comparePNG(tt.data, 1); err != nil {
				t.Fatal(err)
			}
			_, err := DecodeBytes(tt.data)
			if (err == nil) != tt.ok {
				t.Fatalf("DecodeBytes: %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrFormat) {
				t.Fatalf("untyped error %v", err)
			}
		})
	}
}

// pngWithRaw writes a PNG whose one IDAT holds the zlib stream of raw.
func pngWithRaw(t testing.TB, w, h, ct, depth int, raw []byte) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = byte(depth), byte(ct)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	out := append([]byte(pngSignature), pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", z.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}

// TestPNGTrailingIDATData follows image/png's rule for bytes after the
// zlib stream inside its last IDAT chunk: accepted when its bufio.Reader
// had read them already (they lie in the same 4096-byte read), refused
// otherwise.
func TestPNGTrailingIDATData(t *testing.T) {
	for _, junk := range []int{1, 100, 5000, 9000} {
		t.Run(fmt.Sprint(junk), func(t *testing.T) {
			raw := make([]byte, (1+3*4)*2)
			p := pngWithRaw(t, 4, 2, pngTrueColor, 8, raw)
			i := bytes.Index(p, []byte("IDAT")) - 4
			n := int(binary.BigEndian.Uint32(p[i:]))
			body := append(bytes.Clone(p[i+8:i+8+n]), make([]byte, junk)...)
			data := append(bytes.Clone(p[:i]), pngChunk("IDAT", body)...)
			data = append(data, pngChunk("IEND", nil)...)
			if err := comparePNG(data, 1); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestPNGContext: a cancelled context stops the decode with its error.
func TestPNGContext(t *testing.T) {
	data := pngEncode(pngSpec{w: 40, h: 300, ct: pngRGBA, depth: 8, seed: 3})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := DecodeBytesContext(ctx, data)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	_, _, _, err = decodePNG(ctx, data, newOptions(nil))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("decodePNG: error %v, want context.Canceled", err)
	}
}

var writePNGSeeds = flag.Bool("imageutil.png-seeds", false, "write FuzzPNGDifferential's seed corpus to testdata/fuzz")

// TestWritePNGSeeds writes a sample of the generated table as seeds of
// FuzzPNGDifferential (run with -imageutil.png-seeds).
func TestWritePNGSeeds(t *testing.T) {
	if !*writePNGSeeds {
		t.Skip("run with -imageutil.png-seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzPNGDifferential")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range pngTable() {
		if i%7 != 0 || s.w*s.h > 300 {
			continue
		}
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint8(%d)\n", pngEncode(s), 1+i%4)
		if err := os.WriteFile(filepath.Join(dir, s.String()), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzPNGDifferential decodes any bytes with decodePNG, reduced by k, and
// with image/png plus the conversion and reduction Decode used before: both
// fail, or both give the same pixels.
func FuzzPNGDifferential(f *testing.F) {
	for i, s := range pngTable() {
		if i%11 == 0 && s.w*s.h <= 300 {
			f.Add(pngEncode(s), uint8(1+i%4))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, kb uint8) {
		k := 1 + int(kb%4)
		if cfg, err := png.DecodeConfig(bytes.NewReader(data)); err == nil {
			if int64(cfg.Width)*int64(cfg.Height) > 1<<20 {
				return // beyond what a fuzz iteration should allocate
			}
			if _, ok := budgetFor(cfg.Width, cfg.Height, k); !ok {
				k = 1
			}
		}
		if err := comparePNG(data, k); err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkPNG decodes PNGs at full size with imageutil's decoder and, as
// the baseline, with image/png followed by the conversion Decode used
// before (in place for RGBA and NRGBA, else convert):
//
//	go test -run '^$' -bench '^BenchmarkPNG$' -benchtime 3x ./imageutil/
func BenchmarkPNG(b *testing.B) {
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"bomb-40MP-rgba", pngBomb(8000, 5000, 6, 8)},
		{"bomb-36MP-rgb", pngBomb(6000, 6000, 2, 8)},
		{"random-3MP-rgb", pngEncode(pngSpec{w: 2000, h: 1500, ct: pngTrueColor, depth: 8, seed: 1})},
		{"random-3MP-rgba-adam7", pngEncode(pngSpec{w: 2000, h: 1500, ct: pngRGBA, depth: 8, interlace: true, seed: 2})},
	} {
		b.Run(c.name+"/imageutil", func(b *testing.B) {
			for range b.N {
				if _, err := DecodeBytes(c.data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/image-png+convert", func(b *testing.B) {
			for range b.N {
				img, err := png.Decode(bytes.NewReader(c.data))
				if err != nil {
					b.Fatal(err)
				}
				if _, ok := convertInPlace(img, img.Bounds()); !ok {
					convert(img, img.Bounds(), 1)
				}
			}
		})
	}
}
