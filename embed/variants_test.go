package embed_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/imageutil"
)

// TestVariants checks that re-encoded, converted and resized copies of a
// face stay within 0.25 of the original's descriptor and nearer to it than
// to any other person's face.
func TestVariants(t *testing.T) {
	d := newDlib(t, 80)
	ctx := context.Background()
	files := []string{"elkie.jpg", "joy.jpg", "nayoung.jpg", "meiqi.jpg", "chaeyoung.jpg"}
	origs := make([]embed.Descriptor, len(files))
	imgs := make([]image.Image, len(files))
	for i, f := range files {
		imgs[i] = decodeFile(t, facesPath(t, "idols", f))
		faces, err := d.Faces(ctx, imgs[i])
		if err != nil || len(faces) != 1 {
			t.Fatalf("%s: %d faces, %v", f, len(faces), err)
		}
		origs[i] = faces[0].Descriptor
	}
	variants := []struct {
		name string
		make func(image.Image) (image.Image, error)
	}{
		{"png", func(m image.Image) (image.Image, error) {
			enc := png.Encoder{CompressionLevel: png.BestSpeed}
			return reencode(m, enc.Encode)
		}},
		{"jpeg-q60", func(m image.Image) (image.Image, error) {
			return reencode(m, func(w io.Writer, m image.Image) error { return jpeg.Encode(w, m, &jpeg.Options{Quality: 60}) })
		}},
		{"gray", func(m image.Image) (image.Image, error) { return convert(m, image.NewGray(m.Bounds())), nil }},
		{"cmyk", func(m image.Image) (image.Image, error) { return convert(m, image.NewCMYK(m.Bounds())), nil }},
		{"exif-rotated", func(m image.Image) (image.Image, error) {
			// Stored turned a quarter counter-clockwise, with EXIF
			// orientation 6 ("rotate 90 CW to display").
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, imaging.Rotate90(m), &jpeg.Options{Quality: 95}); err != nil {
				return nil, err
			}
			out, err := imageutil.Decode(bytes.NewReader(withEXIFOrientation(buf.Bytes(), 6)))
			if err != nil {
				return nil, err
			}
			if out.Orientation != 6 {
				return nil, fmt.Errorf("orientation %d, want 6", out.Orientation)
			}
			return out.RGB, nil
		}},
		{"half", func(m image.Image) (image.Image, error) {
			return imaging.Resize(m, m.Bounds().Dx()/2, 0, imaging.Lanczos), nil
		}},
		{"offset-bounds", func(m image.Image) (image.Image, error) {
			b := m.Bounds()
			dst := image.NewNRGBA(b.Add(image.Pt(37, -11)))
			draw.Draw(dst, dst.Rect, m, b.Min, draw.Src)
			return dst, nil
		}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			lo, hi := 1.0, 0.0
			for i, f := range files {
				m, err := v.make(imgs[i])
				if err != nil {
					t.Fatal(err)
				}
				faces, err := d.Faces(ctx, m)
				if err != nil {
					t.Fatal(err)
				}
				face, err := embed.Largest(faces)
				if err != nil {
					t.Errorf("%s: no face", f)
					continue
				}
				dist := face.Descriptor.Distance(origs[i])
				lo, hi = min(lo, dist), max(hi, dist)
				if dist > 0.25 {
					t.Errorf("%s: %.3f from the original, want <= 0.25", f, dist)
				}
				for j := range origs {
					if j != i && face.Descriptor.Distance(origs[j]) <= dist {
						t.Errorf("%s: nearer to %s (%.3f) than to its original (%.3f)", f, files[j], face.Descriptor.Distance(origs[j]), dist)
					}
				}
			}
			t.Logf("distance to the original: %.3f-%.3f", lo, hi)
		})
	}
}

func reencode(m image.Image, enc func(io.Writer, image.Image) error) (image.Image, error) {
	var buf bytes.Buffer
	if err := enc(&buf, m); err != nil {
		return nil, err
	}
	out, err := imageutil.Decode(&buf)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return out.RGB, nil
}

func convert(m image.Image, dst draw.Image) image.Image {
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			dst.Set(x, y, m.At(x, y))
		}
	}
	return dst
}

// withEXIFOrientation inserts an APP1 EXIF segment holding only the
// orientation tag after a JPEG's SOI marker.
func withEXIFOrientation(jpg []byte, o uint16) []byte {
	tiff := []byte{'I', 'I', 42, 0, 8, 0, 0, 0, // header, IFD0 at 8
		1, 0, // one entry
		0x12, 0x01, 3, 0, 1, 0, 0, 0, byte(o), byte(o >> 8), 0, 0, // Orientation, SHORT, 1
		0, 0, 0, 0} // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff...)
	n := len(payload) + 2
	seg := append([]byte{0xFF, 0xE1, byte(n >> 8), byte(n)}, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}
