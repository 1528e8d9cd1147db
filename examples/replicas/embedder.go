package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/faceoptout/faceoptout/embed"
)

// idEmbedder stands in for a face model so that the measurements are about
// the registry, the feed and the replicas, not about dlib: a photo is one
// "face" covering the whole image, whose identity is the 24-bit colour of
// its top-left pixel; its descriptor is a pseudo-random unit vector of
// dlib's dimension seeded by that identity (two identities are about 1.41
// apart, far beyond any threshold). Its calibration is dlib's: one identity
// is one descriptor, so any threshold below 1.41 separates them.
type idEmbedder struct{}

var idModel = func() embed.Model {
	s := sha256.Sum256([]byte("examples/replicas id embedder: 24-bit colour -> splitmix64 unit vector, 128-D"))
	return embed.Model{Name: "replicas-id", Dim: embed.DlibDim, ID: hex.EncodeToString(s[:]),
		Threshold: embed.DlibThreshold, WeakReview: embed.DlibWeakReview}
}()

func (idEmbedder) Model() embed.Model { return idModel }

func (idEmbedder) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if img == nil || img.Bounds().Empty() {
		return nil, errors.New("replicas: empty image")
	}
	b := img.Bounds()
	r, g, bl, _ := img.At(b.Min.X, b.Min.Y).RGBA()
	id := int(r>>8)<<16 | int(g>>8)<<8 | int(bl>>8)
	return []embed.Face{{
		Box: b, Descriptor: descriptor(id),
		Quality: embed.Quality{Size: max(b.Dx(), b.Dy()), Sharpness: 100, Score: 1},
	}}, nil
}

// descriptor returns identity id's descriptor.
func descriptor(id int) embed.Descriptor {
	s := uint64(id) ^ 0x6a09e667f3bcc908
	d := make(embed.Descriptor, embed.DlibDim)
	var n float64
	for i := range d {
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

// photo returns a PNG that idEmbedder sees as identity id's face.
func photo(id int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	c := color.NRGBA{uint8(id >> 16), uint8(id >> 8), uint8(id), 255}
	for y := range 64 {
		for x := range 64 {
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}
