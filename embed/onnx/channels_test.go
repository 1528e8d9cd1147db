package onnx_test

import (
	"context"
	"image"
	"image/color"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// TestChannelOrder: ModelConfig.BGR feeds the model blue, green, red. The
// leftmost face of a colour photo described with BGR gives the descriptor
// of the same face with its red and blue swapped described without it
// (but for the landmarks, found on a grey image), and not its own.
func TestChannelOrder(t *testing.T) {
	base := newEmbedder(t, onnx.ONNX68)
	photo := filepath.Join(testenv.BBT(t), "bbt2.jpg") // colour (the crops are grey)
	img := decode(t, photo)
	swapped := image.NewNRGBA(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			swapped.SetNRGBA(x, y, color.NRGBA{R: c.B, G: c.G, B: c.R, A: c.A})
		}
	}
	cfg := base.Config()
	cfg.Detection.Workers = 1
	cfg.Model.BGR = true
	bgr, err := onnx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bgr.Close()
	if bgr.Model().ID == base.Model().ID {
		t.Fatal("BGR does not change the Model's ID")
	}
	ctx := context.Background()
	describe := func(e *onnx.Embedder, m image.Image) embed.Descriptor {
		t.Helper()
		faces, err := e.Faces(ctx, m)
		if err != nil || len(faces) == 0 {
			t.Fatalf("%d faces, %v", len(faces), err)
		}
		first := faces[0]
		for _, f := range faces[1:] {
			if f.Box.Min.X < first.Box.Min.X {
				first = f
			}
		}
		return first.Descriptor
	}
	rgbOwn, bgrOwn, rgbSwapped := describe(base, img), describe(bgr, img), describe(base, swapped)
	own, swap := rgbOwn.Distance(bgrOwn), bgrOwn.Distance(rgbSwapped)
	t.Logf("one face, RGB against BGR: %.4f; BGR against the swapped face's RGB: %.4f", own, swap)
	if own < 0.1 {
		t.Errorf("BGR and RGB descriptors of one face %.4f apart: BGR has little or no effect", own)
	}
	// Not 0: the landmark model sees the grey of the swapped face, which
	// weighs red and blue differently, and aligns it slightly elsewhere.
	if swap > own/4 {
		t.Errorf("BGR descriptor %.4f from the swapped face's RGB descriptor, against %.4f from its own", swap, own)
	}
}
