package imageutil

import (
	"encoding/hex"
	"fmt"
	"image"
	"image/draw"
	"math"
	"math/bits"
	"slices"
)

// Hash is a 64-bit perceptual hash of an image (see [PHash]). Similar images
// have hashes at a small Hamming distance. The zero Hash is a valid hash.
type Hash uint64

// DefaultMatchDistance is the largest [Hash.Distance] at which two images
// count as the same picture (a re-encoded, resized, slightly cropped or
// annotated copy). It is chosen from measurements on the shared test faces;
// see TestPHashRobustness and the package documentation.
const DefaultMatchDistance = 10

// Distance returns the Hamming distance between h and g: the number of
// differing bits, from 0 (identical) to 64.
func (h Hash) Distance(g Hash) int { return bits.OnesCount64(uint64(h ^ g)) }

// String returns the hash as 16 lower-case hexadecimal digits, the form
// [ParseHash] reads and storage should use.
func (h Hash) String() string { return fmt.Sprintf("%016x", uint64(h)) }

// ParseHash parses the 16 hexadecimal digits written by [Hash.String].
func ParseHash(s string) (Hash, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("imageutil: hash %q: want 16 hexadecimal digits", s)
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, fmt.Errorf("imageutil: hash %q: %w", s, err)
	}
	var h uint64
	for _, c := range b {
		h = h<<8 | uint64(c)
	}
	return Hash(h), nil
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseHash.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

const (
	hashGrid = 32 // side of the grey thumbnail the DCT runs on
	hashFreq = 8  // side of the block of lowest frequencies kept
)

// dctBasis[k][n] is the DCT-II basis cos(π(2n+1)k / 2N) for the frequencies
// the hash reads. (gonum's fourier.DCT is the DCT-I of FFTPACK's COST, with
// a different basis; the hash needs only 8 of the 32 frequencies per axis,
// which this table computes directly in about 10k multiply-adds.)
var dctBasis = func() (c [hashFreq][hashGrid]float64) {
	for k := range c {
		for n := range c[k] {
			c[k][n] = math.Cos(math.Pi * float64((2*n+1)*k) / (2 * hashGrid))
		}
	}
	return c
}()

// hashWindow tapers the grey thumbnail towards its edges before the DCT (a
// Tukey window: flat over the central half, a raised cosine over the outer
// quarter on each side). Crops, borders, captions and watermarks live at the
// edges; on the shared test photos the window cuts the largest change a 5 %
// crop makes from 14 to 10 bits and a corner caption's from 10 to 2, and
// leaves the smallest distance between different photos at 12 (see
// TestPHashRobustness).
var hashWindow = func() (w [hashGrid]float64) {
	for n := range w {
		x := (float64(n) + 0.5) / hashGrid
		x = min(x, 1-x) // distance to the nearer edge, 0 to 0.5
		w[n] = 1
		if x < 0.25 {
			w[n] = 0.5 * (1 - math.Cos(math.Pi*x/0.25))
		}
	}
	return w
}()

// PHash returns the 64-bit DCT perceptual hash of img, a variant of the pHash
// construction: the image is converted to grey (Rec. 601 luma, transparency
// over white) and reduced to 32x32 by averaging the pixels of each cell; the
// mean is subtracted, the edges are tapered (a Tukey window, see below), and
// a 2-D DCT-II is taken. Of the 8x8 lowest frequencies, the 63 other than DC
// are compared with their median: bit 8·v+u is set when coefficient (u, v)
// is above it. Bit 0, DC's place, is always 0, so a hash has 63 informative
// bits, 31 of them set (fewer only for near-uniform images, whose
// coefficients tie) and the distance between two hashes is even.
//
// Pass the decoded, oriented image ([Image.RGB]); any image.Image works, of
// any size. PHash reads every pixel once; it allocates one row of luma (and
// one band of rows unless img is an opaque *image.NRGBA). It is
// safe for concurrent use.
func PHash(img image.Image) Hash {
	g := grey32(img)
	return hashFromGrid(&g)
}

func hashFromGrid(g *[hashGrid][hashGrid]float64) Hash {
	var mean float64
	for y := range g {
		for _, v := range g[y] {
			mean += v
		}
	}
	mean /= hashGrid * hashGrid
	// Rows first: r[y][u] = Σx w(x)w(y)(g[y][x]-mean)·C[u][x], then columns.
	var r [hashGrid][hashFreq]float64
	for y := range g {
		var row [hashGrid]float64
		for x, v := range g[y] {
			row[x] = (v - mean) * hashWindow[x] * hashWindow[y]
		}
		for u := range hashFreq {
			var s float64
			for x, v := range row {
				s += v * dctBasis[u][x]
			}
			r[y][u] = s
		}
	}
	var coef [hashFreq * hashFreq]float64
	for v := range hashFreq {
		for u := range hashFreq {
			var s float64
			for y := range r {
				s += r[y][u] * dctBasis[v][y]
			}
			coef[v*hashFreq+u] = s
		}
	}
	ac := coef
	sorted := ac[1:]
	slices.Sort(sorted)
	med := sorted[len(sorted)/2]
	var h uint64
	for i := 1; i < len(coef); i++ {
		if coef[i] > med {
			h |= 1 << uint(i)
		}
	}
	return Hash(h)
}

// grey32 averages the Rec. 601 luma of img over a 32x32 grid of cells. Cell
// (cx, cy) covers columns [cx·W/32, (cx+1)·W/32) (at least one column) and
// likewise rows, so images smaller than 32 pixels repeat pixels.
func grey32(img image.Image) (g [hashGrid][hashGrid]float64) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return g
	}
	span := func(c, n int) (int, int) {
		lo := c * n / hashGrid
		return lo, max((c+1)*n/hashGrid, lo+1)
	}
	var x0, x1, y0, y1 [hashGrid]int
	for c := range hashGrid {
		x0[c], x1[c] = span(c, w)
		y0[c], y1[c] = span(c, h)
	}
	var buf []uint8 // one band of rows drawn over white, allocated on demand
	luma := make([]uint32, w)
	nrgba, _ := img.(*image.NRGBA)
	lumaOf := func(p []uint8) (alpha uint8) {
		alpha = 0xff
		for x := range luma {
			q := p[4*x : 4*x+4 : 4*x+4]
			luma[x] = 19595*uint32(q[0]) + 38470*uint32(q[1]) + 7471*uint32(q[2]) // ·2^16
			alpha &= q[3]
		}
		return alpha
	}
	var cols [hashGrid]uint64
	for by := 0; by < h; by += band {
		n := min(band, h-by)
		var bb *image.RGBA // the band converted over white, made on demand
		for j := 0; j < n; j++ {
			y := by + j
			// An opaque row of an *image.NRGBA (every row of Image.RGB) is
			// read in place; anything else is drawn over white first.
			if nrgba == nil || lumaOf(nrgba.Pix[nrgba.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]) != 0xff {
				if bb == nil {
					if buf == nil {
						buf = make([]uint8, 4*w*band)
					}
					bb = &image.RGBA{Pix: buf[:4*w*n], Stride: 4 * w, Rect: image.Rect(0, 0, w, n)}
					fill(bb.Pix, 0xff)
					draw.Draw(bb, bb.Rect, img, image.Pt(b.Min.X, b.Min.Y+by), draw.Over)
				}
				lumaOf(bb.Pix[j*bb.Stride : j*bb.Stride+4*w])
			}
			for c := range hashGrid {
				var s uint64
				for _, v := range luma[x0[c]:x1[c]] {
					s += uint64(v)
				}
				cols[c] = s
			}
			for cy := range hashGrid {
				if y < y0[cy] || y >= y1[cy] {
					continue
				}
				for cx := range hashGrid {
					g[cy][cx] += float64(cols[cx])
				}
			}
		}
	}
	for cy := range hashGrid {
		for cx := range hashGrid {
			g[cy][cx] /= float64((x1[cx]-x0[cx])*(y1[cy]-y0[cy])) * 65536
		}
	}
	return g
}
