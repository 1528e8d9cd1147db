package embed_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/imageutil"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ai := float64(in.Dx() * in.Dy())
	return ai / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - ai)
}

// matchFaces pairs every face of want with the face of got whose box
// overlaps it most (IoU >= 0.5) and returns the descriptor distances; it
// fails the test for a face without a partner.
func matchFaces(t *testing.T, name string, want, got []embed.Face) []float64 {
	t.Helper()
	var dists []float64
	for _, a := range want {
		best, bi := -1, 0.5
		for j, b := range got {
			if v := iou(a.Box, b.Box); v >= bi {
				best, bi = j, v
			}
		}
		if best < 0 {
			t.Errorf("%s: face %v not found by FacesBytes (it found %d faces)", name, a.Box, len(got))
			continue
		}
		dists = append(dists, a.Descriptor.Distance(got[best].Descriptor))
	}
	return dists
}

// TestFacesBytesAgreesWithFaces runs idols photos through FacesBytes
// (libjpeg, scaled in the DCT domain at MinFaceSize 200) and through
// imageutil.Decode + Faces: the same faces, with descriptors within the
// agreement the README reports for scaled scans.
func TestFacesBytesAgreesWithFaces(t *testing.T) {
	files, err := filepath.Glob(facesPath(t, "idols", "*.jpg"))
	if err != nil || len(files) < 10 {
		t.Fatalf("idols photos: %d, %v", len(files), err)
	}
	sort.Strings(files)
	files = append(files[:8:8], facesPath(t, "idols", "pristin.jpg"))
	for _, tc := range []struct {
		minFace int
		tol     float64 // largest descriptor distance to Faces on the decoded image
		scaled  bool    // some photo must be decoded scaled
	}{
		{80, 0.12, false}, // measured: up to 0.082 (libjpeg's pixels vs Go's)
		{200, 0.15, true}, // measured: up to 0.084 (decoded at half size)
	} {
		d := newDlib(t, tc.minFace)
		var all []float64
		scaled := false
		for _, f := range files {
			data := readFile(t, f)
			img, err := imageutil.DecodeBytes(data)
			if err != nil {
				t.Fatal(err)
			}
			want, err := d.Faces(context.Background(), img.RGB)
			if err != nil {
				t.Fatal(err)
			}
			got, st, err := d.FacesBytesWithStats(context.Background(), data)
			if err != nil {
				t.Fatal(err)
			}
			if st.DecodeScale < 1 {
				scaled = true
			}
			all = append(all, matchFaces(t, filepath.Base(f), want, got)...)
			if len(got) != len(want) {
				t.Errorf("%s at %d: FacesBytes %d faces, Faces %d", filepath.Base(f), tc.minFace, len(got), len(want))
			}
		}
		sort.Float64s(all)
		if len(all) == 0 {
			t.Fatalf("MinFaceSize %d: no face compared", tc.minFace)
		}
		t.Logf("MinFaceSize %d: %d faces, descriptor distance FacesBytes vs Faces: median %.3f, max %.3f",
			tc.minFace, len(all), all[len(all)/2], all[len(all)-1])
		if worst := all[len(all)-1]; worst > tc.tol {
			t.Errorf("MinFaceSize %d: descriptor distance up to %.3f, tolerance %.2f", tc.minFace, worst, tc.tol)
		}
		if scaled != tc.scaled {
			t.Errorf("MinFaceSize %d: decoded scaled = %v, want %v", tc.minFace, scaled, tc.scaled)
		}
	}
}

func TestFacesBytesPristin(t *testing.T) {
	faces, err := newDlib(t, 80).FacesBytes(context.Background(), readFile(t, facesPath(t, "idols", "pristin.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 10 {
		t.Errorf("%d faces, want 10", len(faces))
	}
}

// TestFacesBytesOrientation: boxes come back in the coordinates of the
// oriented image, as imageutil.Decode + Faces reports them, for all eight
// EXIF orientations (on a large photo, decoded scaled at 160). Each copy
// stores the photo turned the other way, so that applying its orientation
// makes the face upright again.
func TestFacesBytesOrientation(t *testing.T) {
	upright := decodeFile(t, facesPath(t, "idols", "bona4.jpg"))
	inverse := [9]int{0, 1, 2, 3, 4, 5, 8, 7, 6}
	copies := make([][]byte, 9)
	for o := 1; o <= 8; o++ {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, imageutil.Orient(upright, inverse[o]), &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
		copies[o] = withEXIFOrientation(buf.Bytes(), uint16(o))
	}
	withFaces := 0
	for _, minFace := range []int{80, 160} {
		d := newDlib(t, minFace)
		for o := uint16(1); o <= 8; o++ {
			data := copies[o]
			img, err := imageutil.DecodeBytes(data)
			if err != nil {
				t.Fatal(err)
			}
			if img.Orientation != int(o) {
				t.Fatalf("fixture orientation %d, want %d", img.Orientation, o)
			}
			want, err := d.Faces(context.Background(), img.RGB)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.FacesBytes(context.Background(), data)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Errorf("orientation %d at %d: FacesBytes %d faces, Faces %d", o, minFace, len(got), len(want))
			}
			if len(want) > 0 {
				withFaces++
			}
			matchFaces(t, "orientation", want, got)
			for _, f := range got {
				if !f.Box.In(img.RGB.Bounds().Inset(-f.Box.Dx())) {
					t.Errorf("orientation %d: box %v far outside %v", o, f.Box, img.RGB.Bounds())
				}
			}
		}
	}
	if withFaces < 16 {
		t.Errorf("faces found in %d of 16 oriented copies, want all", withFaces)
	}
}

func TestFacesBytesErrors(t *testing.T) {
	d := newDlib(t, 80)
	jpg := readFile(t, facesPath(t, "idols", "tzuyu.jpg"))
	small := func() *embed.Dlib {
		cfg := d.Config()
		cfg.Workers = 1
		cfg.DecodeLimits = imageutil.Limits{MaxBytes: int64(len(jpg)) - 1, MaxPixels: 1000}
		s, err := embed.NewDlib(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}()
	pixLimited := func() *embed.Dlib {
		cfg := d.Config()
		cfg.Workers = 1
		cfg.DecodeLimits = imageutil.Limits{MaxPixels: 1000}
		s, err := embed.NewDlib(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}()
	garbled := append([]byte(nil), jpg...)
	for i := len(garbled) / 2; i < len(garbled)-2; i++ {
		garbled[i] = byte(i * 13)
	}
	tests := []struct {
		name  string
		d     *embed.Dlib
		data  []byte
		want  error
		limit string
	}{
		{"empty", d, nil, imageutil.ErrFormat, ""},
		{"not an image", d, []byte("hello, world"), imageutil.ErrFormat, ""},
		{"header only", d, jpg[:300], imageutil.ErrCorrupt, ""},
		{"truncated", d, jpg[:len(jpg)*2/3], imageutil.ErrCorrupt, ""},
		{"garbled", d, garbled, imageutil.ErrCorrupt, ""},
		{"too many bytes", small, jpg, imageutil.ErrTooLarge, imageutil.LimitBytes},
		{"too many pixels", pixLimited, jpg, imageutil.ErrTooLarge, imageutil.LimitPixels},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			faces, err := tc.d.FacesBytes(context.Background(), tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v (%d faces), want %v", err, len(faces), tc.want)
			}
			var le *imageutil.LimitError
			if tc.limit != "" && (!errors.As(err, &le) || le.Limit != tc.limit) {
				t.Fatalf("err = %v, want a *LimitError on %s", err, tc.limit)
			}
		})
	}
}

// TestFacesBytesPNG: other formats go through imageutil.
func TestFacesBytesPNG(t *testing.T) {
	d := newDlib(t, 80)
	img := decodeFile(t, facesPath(t, "idols", "tzuyu.jpg"))
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	want, err := d.Faces(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.FacesBytes(context.Background(), buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("FacesBytes %d faces, Faces %d", len(got), len(want))
	}
	for _, dist := range matchFaces(t, "png", want, got) {
		if dist > 1e-4 {
			t.Errorf("PNG through FacesBytes moved a descriptor by %.4f", dist)
		}
	}
}

// FuzzFacesBytes: no input crashes the whole pipeline; errors are
// imageutil's or embed's.
func FuzzFacesBytes(f *testing.F) {
	img := decodeFile(f, facesPath(f, "bbt", "leonard", "leonard1.png"))
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		f.Fatal(err)
	}
	f.Add(readFile(f, facesPath(f, "idols", "tzuyu.jpg")))
	f.Add(buf.Bytes())
	f.Add([]byte("\xff\xd8\xff\xdb"))
	d := newDlib(f, 80)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := d.FacesBytes(context.Background(), data)
		if err != nil && !errors.Is(err, imageutil.ErrFormat) && !errors.Is(err, imageutil.ErrCorrupt) &&
			!errors.Is(err, imageutil.ErrTooLarge) && !errors.Is(err, embed.ErrImage) {
			t.Fatalf("unexpected error class: %v", err)
		}
	})
}
