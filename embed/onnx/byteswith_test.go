package onnx_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/imageutil"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// The Filter checks encoded images through the embedder's own decoder.
var _ exclusion.BytesEmbedder = (*onnx.Embedder)(nil)

// groupPhoto returns the first faces/bbt group photo's bytes.
func groupPhoto(t *testing.T) []byte {
	t.Helper()
	groups, _ := filepath.Glob(filepath.Join(testenv.BBT(t), "bbt*.jpg"))
	if len(groups) == 0 {
		t.Fatal("no faces/bbt group photo")
	}
	data, err := os.ReadFile(groups[0])
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestFacesBytesWith: with no options it is FacesBytes; Look sees the image
// before any face is searched and its error ends the call; a photo turned
// sideways is found by a turned scan with the box dlib's FacesBytesWith
// reports; the pixel budget reduces as dlib's does.
func TestFacesBytesWith(t *testing.T) {
	e := newEmbedder(t, onnx.Dlib68)
	dc := embed.DefaultDlibConfig()
	dc.ModelsDir = testenv.Models(t)
	d, err := embed.NewDlib(dc)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	data := groupPhoto(t)
	want, err := e.FacesBytes(ctx, data)
	if err != nil || len(want) == 0 {
		t.Fatalf("FacesBytes: %d faces, %v", len(want), err)
	}

	t.Run("no options", func(t *testing.T) {
		res, err := e.FacesBytesWith(ctx, data, embed.BytesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Faces) != len(want) || res.Turn != 0 || res.Scans != 1 || res.Reduction != 1 {
			t.Fatalf("%d faces, turn %d, scans %d, reduction %v; want %d, 0, 1, 1", len(res.Faces), res.Turn, res.Scans, res.Reduction, len(want))
		}
		for i := range want {
			if res.Faces[i].Box != want[i].Box || res.Faces[i].Descriptor.Distance(want[i].Descriptor) > 1e-5 {
				t.Errorf("face %d: %v, FacesBytes %v", i, res.Faces[i].Box, want[i].Box)
			}
		}
	})

	t.Run("look", func(t *testing.T) {
		stop := errors.New("stop")
		looked := false
		_, err := e.FacesBytesWith(ctx, data, embed.BytesOptions{Look: func(img image.Image) error {
			looked = img.Bounds().Dx() > 0
			return stop
		}})
		if !looked || !errors.Is(err, stop) {
			t.Fatalf("looked %v, err %v; want the look's error", looked, err)
		}
	})

	t.Run("turned", func(t *testing.T) {
		img, err := imageutil.DecodeBytes(data)
		if err != nil {
			t.Fatal(err)
		}
		sideways := imageutil.Orient(img.RGB, 8) // turned counter-clockwise
		var b bytes.Buffer
		if err := jpeg.Encode(&b, sideways, &jpeg.Options{Quality: 92}); err != nil {
			t.Fatal(err)
		}
		opts := embed.BytesOptions{Turns: []embed.Turn{{Degrees: 90}, {Degrees: 270}}}
		got, err := e.FacesBytesWith(ctx, b.Bytes(), opts)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := d.FacesBytesWith(ctx, b.Bytes(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if got.Turn != ref.Turn || got.Scans != ref.Scans || len(got.Faces) != len(ref.Faces) || len(got.Faces) == 0 {
			t.Fatalf("turn %d, scans %d, %d faces; dlib turn %d, scans %d, %d faces", got.Turn, got.Scans, len(got.Faces), ref.Turn, ref.Scans, len(ref.Faces))
		}
		for i := range ref.Faces {
			if got.Faces[i].Box != ref.Faces[i].Box {
				t.Errorf("face %d: box %v, dlib %v", i, got.Faces[i].Box, ref.Faces[i].Box)
			}
			if n := norm(got.Faces[i].Descriptor); math.Abs(n-1) > 1e-4 {
				t.Errorf("face %d: descriptor norm %v", i, n)
			}
		}
	})

	t.Run("pixel budget", func(t *testing.T) {
		opts := embed.BytesOptions{MaxPixels: 200_000}
		got, err := e.FacesBytesWith(ctx, data, opts)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := d.FacesBytesWith(ctx, data, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got.Reduction != ref.Reduction || len(got.Faces) != len(ref.Faces) {
			t.Fatalf("reduction %v, %d faces; dlib %v, %d", got.Reduction, len(got.Faces), ref.Reduction, len(ref.Faces))
		}
		for i := range ref.Faces {
			if got.Faces[i].Box != ref.Faces[i].Box {
				t.Errorf("face %d: box %v, dlib %v", i, got.Faces[i].Box, ref.Faces[i].Box)
			}
		}
	})

	t.Run("garbage", func(t *testing.T) {
		for _, b := range [][]byte{nil, []byte("not an image"), data[:len(data)/3]} {
			if res, err := e.FacesBytesWith(ctx, b, embed.BytesOptions{Turns: []embed.Turn{{Degrees: 90}}}); err == nil && len(res.Faces) > 0 {
				t.Errorf("%d bytes: %d faces and no error", len(b), len(res.Faces))
			}
		}
		if _, err := e.FacesBytesWith(ctx, data, embed.BytesOptions{Turns: []embed.Turn{{Degrees: 45}}}); !errors.Is(err, embed.ErrConfig) {
			t.Errorf("turn of 45 degrees: %v, want embed.ErrConfig", err)
		}
	})
}

func norm(d embed.Descriptor) float64 {
	var s float64
	for _, v := range d {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// TestMean68AndAugment: the mean of both landmark sources is a third
// Model; FacesAugmented gives Faces's descriptor plus one unit descriptor
// per view, close to it.
func TestMean68AndAugment(t *testing.T) {
	a, b, m := newEmbedder(t, onnx.Dlib68), newEmbedder(t, onnx.ONNX68), newEmbedder(t, onnx.Mean68)
	if id := m.Model().ID; id == a.Model().ID || id == b.Model().ID {
		t.Fatal("Mean68 has the Model ID of a single landmark source")
	}
	ctx := context.Background()
	img, err := imageutil.DecodeBytes(groupPhoto(t))
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Faces(ctx, img.RGB)
	if err != nil || len(want) == 0 {
		t.Fatalf("Faces: %d faces, %v", len(want), err)
	}
	fa, fb := faceLandmarks(t, a, img.RGB), faceLandmarks(t, b, img.RGB)
	for i := range want {
		for j, p := range want[i].Landmarks {
			mx, my := float64(fa[i][j].X+fb[i][j].X)/2, float64(fa[i][j].Y+fb[i][j].Y)/2
			if math.Abs(float64(p.X)-mx) > 1 || math.Abs(float64(p.Y)-my) > 1 {
				t.Errorf("face %d point %d: %v, mean of %v and %v", i, j, p, fa[i][j], fb[i][j])
			}
		}
	}
	got, err := m.FacesAugmented(ctx, img.RGB, onnx.Augment{Mirror: true, Shift: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d faces, Faces %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Box != want[i].Box || got[i].Descriptor.Distance(want[i].Descriptor) > 1e-5 {
			t.Errorf("face %d differs from Faces's", i)
		}
		if len(got[i].Extra) != 5 {
			t.Fatalf("face %d: %d extra descriptors, want 5", i, len(got[i].Extra))
		}
		for j, x := range got[i].Extra {
			if n := norm(x); math.Abs(n-1) > 1e-4 {
				t.Errorf("face %d view %d: norm %v", i, j, n)
			}
			if dist := x.Distance(want[i].Descriptor); !(dist > 0 && dist < 1) {
				t.Errorf("face %d view %d: %.3f from the face's descriptor", i, j, dist)
			}
		}
	}
	if _, err := m.FacesAugmented(ctx, img.RGB, onnx.Augment{Shift: 1000}); !errors.Is(err, onnx.ErrConfig) {
		t.Errorf("Shift 1000: %v, want ErrConfig", err)
	}
}

func faceLandmarks(t *testing.T, e *onnx.Embedder, img image.Image) [][]image.Point {
	t.Helper()
	faces, err := e.Faces(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]image.Point, len(faces))
	for i, f := range faces {
		out[i] = f.Landmarks
	}
	return out
}

// FuzzFacesBytesWith: any bytes, with a look and turned scans, give faces
// with unit descriptors or an error, never a panic.
func FuzzFacesBytesWith(f *testing.F) {
	groups, _ := filepath.Glob(filepath.Join(testenv.BBT(f), "bbt*.jpg"))
	if len(groups) > 0 {
		if data, err := os.ReadFile(groups[0]); err == nil {
			f.Add(data)
			f.Add(data[:len(data)/2])
		}
	}
	f.Add([]byte("\xff\xd8\xff\xe0 not a jpeg"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		e := newEmbedder(t, onnx.ONNX68)
		res, err := e.FacesBytesWith(context.Background(), data, embed.BytesOptions{
			Look:      func(image.Image) error { return nil },
			Turns:     []embed.Turn{{Degrees: 90, Reduce: 2}, {Degrees: 270, Reduce: 2}},
			MaxPixels: 4_000_000,
		})
		if err != nil {
			return
		}
		for i, fc := range res.Faces {
			if n := norm(fc.Descriptor); math.Abs(n-1) > 1e-3 {
				t.Fatalf("face %d: descriptor norm %v", i, n)
			}
		}
	})
}
