// Package exampletest sets up registries, filters and images for the tests
// of the example programs, with the fake embedder of exclusion/exclusiontest
// (coloured rectangles are faces).
//
// # Basics
//
//	reg, emb := exampletest.Registry(t)            // in memory, fake embedder
//	id := exampletest.OptOut(t, reg, 1)            // approved face opt-out of person 1
//	f := exampletest.Filter(t, reg, emb)
//
// # Caveats
//
// The fake embedder's faces are far easier to tell apart than real ones;
// tests of accuracy use the real models (internal/testenv).
package exampletest

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"testing"

	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// FakeModel is the model name registries enrolled with the fake embedder
// record.
const FakeModel = "exclusiontest-fake"

// Embedder returns the fake embedder with its model name.
func Embedder() registrydir.Embedder {
	return registrydir.Embedder{Embedder: &exclusiontest.Embedder{}, Name: FakeModel}
}

// Registry returns a new in-memory registry with the fake embedder, closed
// when the test ends.
func Registry(t testing.TB) (*exclusion.Registry, registrydir.Embedder) {
	t.Helper()
	emb := Embedder()
	reg, err := exclusion.Create(context.Background(), exclusiontest.NewMemStore(), emb.Embedder, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	return reg, emb
}

// Filter returns a Filter over reg with the default configuration.
func Filter(t testing.TB, reg *exclusion.Registry, emb registrydir.Embedder) *exclusion.Filter {
	t.Helper()
	f, err := exclusion.NewFilter(reg, emb.Embedder, exclusion.DefaultFilterConfig())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Face returns person i's face (a coloured 100x100 square) at (x, y).
func Face(i, x, y int) exclusiontest.Face {
	return exclusiontest.Face{Box: image.Rect(x, y, x+100, y+100), Color: exclusiontest.Person(i)}
}

// Photo returns a PNG of the given people, side by side on a white canvas.
func Photo(people ...int) []byte {
	var faces []exclusiontest.Face
	for k, p := range people {
		faces = append(faces, Face(p, 20+140*k, 40))
	}
	return exclusiontest.PNG(exclusiontest.Image(max(200, 40+140*len(people)), 180, faces...))
}

// Submission returns a valid submission of kind k with the given photos.
func Submission(k exclusion.Kind, photos ...[]byte) *exclusion.Submission {
	s := &exclusion.Submission{
		Kind: k, Country: "DE", Reason: "Please never index this.",
		Name: "Jane Doe", Email: "jane@example.org", Phone: "+4915123456789",
	}
	for _, p := range photos {
		s.Photos = append(s.Photos, exclusion.Photo{Data: p})
	}
	return s
}

// OptOut submits and approves a face opt-out of person i and returns its id.
func OptOut(t testing.TB, reg *exclusion.Registry, i int) string {
	t.Helper()
	return approve(t, reg, Submission(exclusion.FaceOptOut, Photo(i)))
}

// Removal submits and approves an image removal of urls and image (nil for
// none) and returns its id.
func Removal(t testing.TB, reg *exclusion.Registry, image []byte, urls ...string) string {
	t.Helper()
	s := Submission(exclusion.ImageRemoval)
	s.URLs = urls
	if image != nil {
		s.Photos = []exclusion.Photo{{Data: image}}
	}
	return approve(t, reg, s)
}

func approve(t testing.TB, reg *exclusion.Registry, s *exclusion.Submission) string {
	t.Helper()
	ctx := context.Background()
	req, err := reg.Submit(ctx, s, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Approve(ctx, req.ID, "reviewer", ""); err != nil {
		t.Fatal(err)
	}
	return req.ID
}

// Pattern returns a w x h grey pattern without faces (for the fake
// embedder: grey is never a person's colour) whose perceptual hash is
// distinctive; seed varies it.
func Pattern(w, h, seed int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	s := float64(seed)
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			v := 110 + 50*math.Sin(6*fx+s)*math.Cos(5*fy+2*s) + 40*math.Sin(11*fx*fy+3*s)
			g := uint8(max(0, min(220, v)))
			img.SetNRGBA(x, y, color.NRGBA{g, g, g, 255})
		}
	}
	return img
}

// JPEG encodes img as JPEG at quality q.
func JPEG(img image.Image, q int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		return nil
	}
	return b.Bytes()
}

// PNG encodes img as PNG.
func PNG(img image.Image) []byte { return exclusiontest.PNG(img) }
