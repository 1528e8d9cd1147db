package exclusiontest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"time"

	"github.com/faceoptout/faceoptout/embed"
)

// Embedder is a deterministic fake embed.Embedder. Every patch of one
// non-white colour (quantised to 8 levels per channel, at least MinPixels
// pixels) is a face: its box is the patch's bounding box and its descriptor
// Descriptor(colour). It is safe for concurrent use.
type Embedder struct {
	// Err, when set, is returned by every call.
	Err error
	// Delay is waited (or ctx's end) before answering.
	Delay time.Duration
	// Sharpness is reported in every face's Quality; 0 means 100.
	Sharpness float64
	// MinPixels is the smallest patch that counts; 0 means 16.
	MinPixels int
	// Dim is the descriptors' length; 0 means DefaultDim.
	Dim int
}

var _ embed.Embedder = (*Embedder)(nil)

// DefaultDim is the length of the fake embedder's descriptors when
// Embedder.Dim is 0: dlib's.
const DefaultDim = embed.DlibDim

// Model returns the model of a fake embedder whose descriptors have dim
// numbers: each dimension is a model of its own, calibrated as dlib's
// (embed.DlibThreshold, embed.DlibWeakReview).
func Model(dim int) embed.Model {
	s := sha256.Sum256([]byte(fmt.Sprintf("exclusiontest fake embedder, %d-D", dim)))
	return embed.Model{Name: fmt.Sprintf("fake-%d", dim), Dim: dim, ID: hex.EncodeToString(s[:]),
		Threshold: embed.DlibThreshold, WeakReview: embed.DlibWeakReview}
}

// Model implements embed.Embedder.
func (e *Embedder) Model() embed.Model { return Model(e.dim()) }

func (e *Embedder) dim() int {
	if e.Dim > 0 {
		return e.Dim
	}
	return DefaultDim
}

// Faces implements embed.Embedder.
func (e *Embedder) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	if e.Delay > 0 {
		t := time.NewTimer(e.Delay)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake embedder: %w", err)
	}
	if e.Err != nil {
		return nil, e.Err
	}
	if img == nil {
		return nil, embed.ErrImage
	}
	type patch struct {
		box image.Rectangle
		n   int
	}
	patches := map[[3]uint8]*patch{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			k, ok := key(img.At(x, y))
			if !ok {
				continue
			}
			p := patches[k]
			pt := image.Rect(x, y, x+1, y+1)
			if p == nil {
				patches[k] = &patch{box: pt, n: 1}
				continue
			}
			p.box = p.box.Union(pt)
			p.n++
		}
	}
	minPix := e.MinPixels
	if minPix == 0 {
		minPix = 16
	}
	sharp := e.Sharpness
	if sharp == 0 {
		sharp = 100
	}
	faces := []embed.Face{}
	for k, p := range patches {
		if p.n < minPix {
			continue
		}
		faces = append(faces, embed.Face{
			Box:        p.box,
			Descriptor: descriptor(k, e.dim()),
			Quality:    embed.Quality{Size: max(p.box.Dx(), p.box.Dy()), Sharpness: sharp, Score: 1},
		})
	}
	slices.SortFunc(faces, func(a, b embed.Face) int {
		if a.Box.Min.Y != b.Box.Min.Y {
			return a.Box.Min.Y - b.Box.Min.Y
		}
		return a.Box.Min.X - b.Box.Min.X
	})
	return faces, nil
}

// key quantises a colour to 8 levels per channel; near-white and
// transparent pixels (the background) are not faces.
func key(c color.Color) ([3]uint8, bool) {
	r, g, b, a := c.RGBA()
	if a < 0x8000 {
		return [3]uint8{}, false
	}
	r8, g8, b8 := uint8(r>>8), uint8(g>>8), uint8(b>>8)
	if r8 > 240 && g8 > 240 && b8 > 240 {
		return [3]uint8{}, false
	}
	return [3]uint8{r8 >> 5, g8 >> 5, b8 >> 5}, true
}

// Descriptor returns the descriptor a fake embedder of DefaultDim gives a
// face of colour c: a pseudo-random unit vector seeded by the quantised
// colour.
func Descriptor(c color.Color) embed.Descriptor { return DescriptorDim(c, DefaultDim) }

// DescriptorDim returns the descriptor a fake embedder of dim gives a face
// of colour c.
func DescriptorDim(c color.Color, dim int) embed.Descriptor {
	k, _ := key(c)
	return descriptor(k, dim)
}

func descriptor(k [3]uint8, dim int) embed.Descriptor {
	s := (uint64(k[0])<<16 | uint64(k[1])<<8 | uint64(k[2])) ^ 0x9e3779b97f4a7c15 // one seed per colour
	d := make(embed.Descriptor, dim)
	var n float64
	for i := range d {
		// splitmix64
		s += 0x9e3779b97f4a7c15
		z := s
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		v := float64(z>>11)/float64(1<<53)*2 - 1
		d[i] = float32(v)
		n += v * v
	}
	n = math.Sqrt(n)
	for i := range d {
		d[i] = float32(float64(d[i]) / n)
	}
	return d
}

// Face is a coloured rectangle that the fake embedder sees as a face.
type Face struct {
	Box   image.Rectangle
	Color color.RGBA
}

// Person returns a colour that stands for person i (0 <= i < 64): faces of
// one person share a colour and so a descriptor.
func Person(i int) color.RGBA {
	q := func(v int) uint8 { return uint8(16 + 32*(v%8)) }
	return color.RGBA{q(i), q(i / 8), q(3 + i*5), 255}
}

// Image draws faces on a white w x h image.
func Image(w, h int, faces ...Face) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for _, f := range faces {
		r := f.Box.Intersect(img.Rect)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				img.Set(x, y, f.Color)
			}
		}
	}
	return img
}

// PNG encodes img as PNG.
func PNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil
	}
	return b.Bytes()
}
