package exclusion

// This file is the only place that decodes and hashes images.
// TODO(imageutil): replace the stand-ins below with imageutil.Decode
// (limits, EXIF orientation) and imageutil.PHash once imageutil lands.

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // stand-in decoders
	_ "image/jpeg"
	_ "image/png"
	"math"
	"math/bits"
	"sort"

	"github.com/disintegration/imaging"
)

// errImage wraps image decoding failures.
var errImage = errors.New("exclusion: cannot decode image")

const (
	maxImageBytes  = 20 << 20
	maxImagePixels = 40_000_000
	// phashMatchDistance is the largest Hamming distance between perceptual
	// hashes that counts as the same image (imageutil.DefaultMatchDistance).
	phashMatchDistance = 10
)

type decoded struct {
	img    image.Image
	format string
}

func decodeImage(data []byte) (d decoded, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: decoder panic: %v", errImage, p)
		}
	}()
	if len(data) > maxImageBytes {
		return d, fmt.Errorf("%w: %d bytes: at most %d", errImage, len(data), maxImageBytes)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return d, fmt.Errorf("%w: %w", errImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return d, fmt.Errorf("%w: %dx%d pixels", errImage, cfg.Width, cfg.Height)
	}
	img, f, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return d, fmt.Errorf("%w: %w", errImage, err)
	}
	return decoded{img: img, format: f}, nil
}

// phash is a 64-bit DCT perceptual hash: 32x32 grey, DCT, the 8x8 lowest
// frequencies compared with their median.
func phash(img image.Image) uint64 {
	const n = 32
	b := img.Bounds()
	var g [n][n]float64
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			// box-average the source pixels that fall into cell (x, y)
			x0 := b.Min.X + x*b.Dx()/n
			x1 := max(b.Min.X+(x+1)*b.Dx()/n, x0+1)
			y0 := b.Min.Y + y*b.Dy()/n
			y1 := max(b.Min.Y+(y+1)*b.Dy()/n, y0+1)
			var s float64
			var c int
			for yy := y0; yy < y1; yy += max(1, (y1-y0)/4) {
				for xx := x0; xx < x1; xx += max(1, (x1-x0)/4) {
					s += float64(color.GrayModel.Convert(img.At(xx, yy)).(color.Gray).Y)
					c++
				}
			}
			g[y][x] = s / float64(c)
		}
	}
	var d [8][8]float64
	for u := 0; u < 8; u++ {
		for v := 0; v < 8; v++ {
			var s float64
			for y := 0; y < n; y++ {
				for x := 0; x < n; x++ {
					s += g[y][x] * math.Cos(float64(2*x+1)*float64(u)*math.Pi/(2*n)) * math.Cos(float64(2*y+1)*float64(v)*math.Pi/(2*n))
				}
			}
			d[v][u] = s
		}
	}
	vals := make([]float64, 0, 64)
	for v := 0; v < 8; v++ {
		for u := 0; u < 8; u++ {
			vals = append(vals, d[v][u])
		}
	}
	sorted := append([]float64(nil), vals...)
	sort.Float64s(sorted)
	med := (sorted[31] + sorted[32]) / 2
	var h uint64
	for i, v := range vals {
		if v > med {
			h |= 1 << uint(i)
		}
	}
	return h
}

// rotations are the turns (degrees clockwise) under which CheckImage looks
// for faces, upright first.
var rotations = [...]int{0, 90, 270, 180}

// rotate returns img turned clockwise by deg (0, 90, 180 or 270).
func rotate(img image.Image, deg int) image.Image {
	switch deg {
	case 90:
		return imaging.Rotate270(img) // imaging turns counter-clockwise
	case 180:
		return imaging.Rotate180(img)
	case 270:
		return imaging.Rotate90(img)
	}
	return img
}

// unrotate maps a box found in img turned clockwise by deg back to img,
// whose bounds are b.
func unrotate(r image.Rectangle, b image.Rectangle, deg int) image.Rectangle {
	w, h := b.Dx(), b.Dy()
	var out image.Rectangle
	switch deg {
	case 90: // (x, y) -> (h-1-y, x)
		out = image.Rect(r.Min.Y, h-r.Max.X, r.Max.Y, h-r.Min.X)
	case 270: // (x, y) -> (y, w-1-x)
		out = image.Rect(w-r.Max.Y, r.Min.X, w-r.Min.Y, r.Max.X)
	case 180:
		out = image.Rect(w-r.Max.X, h-r.Max.Y, w-r.Min.X, h-r.Min.Y)
	default:
		return r
	}
	return out.Add(b.Min)
}

func hashDistance(a, b uint64) int { return bits.OnesCount64(a ^ b) }
