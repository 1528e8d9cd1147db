package onnx_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/imageutil"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

var (
	sharedMu sync.Mutex // guards shared
	shared   = map[onnx.Landmarker]*onnx.Embedder{}
)

// newEmbedder returns an embedder with the default config and landmarker
// lm, shared by the package's tests (never closed: the process ends).
func newEmbedder(t testing.TB, lm onnx.Landmarker) *onnx.Embedder {
	t.Helper()
	cfg := onnxConfig(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if e := shared[lm]; e != nil {
		return e
	}
	cfg.Landmarks = lm
	e, err := onnx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	shared[lm] = e
	return e
}

func decode(t testing.TB, path string) *image.NRGBA {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imageutil.DecodeBytes(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img.RGB
}

// bbtPhotos returns the faces/bbt crops and group photos.
func bbtPhotos(t testing.TB) []string {
	dir := testenv.BBT(t)
	crops, _ := filepath.Glob(filepath.Join(dir, "*", "*.png"))
	groups, _ := filepath.Glob(filepath.Join(dir, "bbt*.jpg"))
	if len(crops) == 0 || len(groups) == 0 {
		t.Fatalf("no faces/bbt photos in %s", dir)
	}
	sort.Strings(crops)
	return append(crops, groups...)
}

// TestBoxesMatchDlib: detection is embed.Dlib's, so boxes, scores and
// poses are identical, for decoded images and for encoded bytes.
func TestBoxesMatchDlib(t *testing.T) {
	e := newEmbedder(t, onnx.Dlib68)
	dc := embed.DefaultDlibConfig()
	dc.ModelsDir = testenv.Models(t)
	d, err := embed.NewDlib(dc)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	total := 0
	for _, p := range bbtPhotos(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			img := decode(t, p)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, mode := range []string{"image", "bytes"} {
				var want, got []embed.Face
				if mode == "image" {
					want, err = d.Faces(ctx, img)
					if err == nil {
						got, err = e.Faces(ctx, img)
					}
				} else {
					want, err = d.FacesBytes(ctx, data)
					if err == nil {
						got, err = e.FacesBytes(ctx, data)
					}
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("%s: %d faces, dlib %d", mode, len(got), len(want))
				}
				for i := range want {
					if got[i].Box != want[i].Box || got[i].Quality.Score != want[i].Quality.Score ||
						got[i].Quality.Pose != want[i].Quality.Pose || got[i].Quality.Size != want[i].Quality.Size {
						t.Errorf("%s face %d: box %v score %v pose %q, dlib %v %v %q", mode, i, got[i].Box,
							got[i].Quality.Score, got[i].Quality.Pose, want[i].Box, want[i].Quality.Score, want[i].Quality.Pose)
					}
				}
				total += len(want)
			}
		})
	}
	if total == 0 {
		t.Fatal("no face found in faces/bbt")
	}
}

// TestDescriptors: every descriptor has Model().Dim = 512 unit-norm numbers,
// five landmarks inside the box's neighbourhood, and each person's crops
// are closer to one another than to anyone else's (faces/bbt), with both
// landmark sources.
func TestDescriptors(t *testing.T) {
	for _, lm := range []onnx.Landmarker{onnx.Dlib68, onnx.ONNX68} {
		t.Run(string(lm), func(t *testing.T) {
			e := newEmbedder(t, lm)
			if m := e.Model(); m.Dim != 512 || len(m.ID) != 64 || m.Name == "" {
				t.Fatalf("Model() = %+v", m)
			}
			type desc struct {
				person string
				d      embed.Descriptor
			}
			var all []desc
			dir := testenv.BBT(t)
			crops, _ := filepath.Glob(filepath.Join(dir, "*", "*.png"))
			for _, p := range crops {
				faces, err := e.Faces(context.Background(), decode(t, p))
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				f, err := embed.Largest(faces)
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if len(f.Descriptor) != 512 {
					t.Fatalf("%s: %d numbers", p, len(f.Descriptor))
				}
				var ss float64
				for _, v := range f.Descriptor {
					ss += float64(v) * float64(v)
				}
				if math.Abs(math.Sqrt(ss)-1) > 1e-5 {
					t.Errorf("%s: norm %v", p, math.Sqrt(ss))
				}
				if len(f.Landmarks) != 5 {
					t.Fatalf("%s: %d landmarks", p, len(f.Landmarks))
				}
				near := f.Box.Inset(-f.Box.Dx() / 2)
				for _, q := range f.Landmarks {
					if !q.In(near) {
						t.Errorf("%s: landmark %v far from box %v", p, q, f.Box)
					}
				}
				all = append(all, desc{filepath.Base(filepath.Dir(p)), f.Descriptor})
			}
			// The farthest pair of one person is nearer than the nearest pair
			// of two people.
			maxSame, minOther := 0.0, math.Inf(1)
			for i := range all {
				for j := i + 1; j < len(all); j++ {
					d := all[i].d.Distance(all[j].d)
					if all[i].person == all[j].person {
						maxSame = math.Max(maxSame, d)
					} else {
						minOther = math.Min(minOther, d)
					}
				}
			}
			t.Logf("%s: farthest same-person pair %.3f, nearest two-person pair %.3f", lm, maxSame, minOther)
			if maxSame >= minOther {
				t.Errorf("farthest same-person pair %.3f >= nearest two-person pair %.3f", maxSame, minOther)
			}
		})
	}
}

func TestModelIdentity(t *testing.T) {
	a, b := newEmbedder(t, onnx.Dlib68), newEmbedder(t, onnx.ONNX68)
	if a.Model().ID == b.Model().ID {
		t.Fatal("the two landmark sources give the same Model ID")
	}
	if a.Model().Name != b.Model().Name || a.Model().Dim != b.Model().Dim {
		t.Fatalf("%v vs %v", a.Model(), b.Model())
	}
	// Same config, same identity.
	cfg := onnxConfig(t)
	cfg.Detection.Workers, cfg.Landmarks = 1, onnx.Dlib68
	c, err := onnx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Model() != a.Model() {
		t.Fatalf("Model() = %v, want %v (detection settings are not part of it)", c.Model(), a.Model())
	}
	// The calibration is reported, and is not part of the identity.
	if m := a.Model(); m.Threshold != onnx.DefaultThreshold || m.WeakReview != onnx.DefaultConfig().Model.WeakReview {
		t.Fatalf("Model() = %+v, want Threshold %v and WeakReview %v", m, onnx.DefaultThreshold, onnx.DefaultConfig().Model.WeakReview)
	}
	cfg.Model.Threshold, cfg.Model.WeakReview = 0.9, 1.0
	d, err := onnx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if m := d.Model(); m.ID != a.Model().ID || m.Threshold != 0.9 || m.WeakReview != 1.0 {
		t.Fatalf("Model() = %+v, want ID %s, Threshold 0.9, WeakReview 1", m, a.Model().ID)
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNewErrors: bad configs, files and models give typed errors.
func TestNewErrors(t *testing.T) {
	base := onnxConfig(t)
	garbage := writeFile(t, "garbage.onnx", []byte("not an ONNX model at all"))
	tests := []struct {
		name   string
		modify func(c *onnx.Config)
		want   error
	}{
		{"zero config", func(c *onnx.Config) { *c = onnx.Config{} }, onnx.ErrConfig},
		{"CNN detector", func(c *onnx.Config) { c.Detection.Detector = embed.CNN }, onnx.ErrConfig},
		{"negative workers", func(c *onnx.Config) { c.Detection.Workers = -1 }, onnx.ErrConfig},
		{"unknown landmarker", func(c *onnx.Config) { c.Landmarks = "sift" }, onnx.ErrConfig},
		{"bad pin", func(c *onnx.Config) { c.Model.SHA256 = "ABC" }, onnx.ErrConfig},
		{"zero scale", func(c *onnx.Config) { c.Model.Scale[1] = 0 }, onnx.ErrConfig},
		{"negative threshold", func(c *onnx.Config) { c.Model.Threshold = -0.1 }, onnx.ErrConfig},
		{"threshold beyond unit vectors", func(c *onnx.Config) { c.Model.Threshold = 2.5 }, onnx.ErrConfig},
		{"NaN weak review", func(c *onnx.Config) { c.Model.WeakReview = math.NaN() }, onnx.ErrConfig},
		{"template outside chip", func(c *onnx.Config) { c.Model.Template[2] = [2]float64{500, 3} }, onnx.ErrConfig},
		{"negative landmark crop", func(c *onnx.Config) { c.LandmarkModel.Crop.Scale = -1 }, onnx.ErrConfig},
		{"huge landmark crop", func(c *onnx.Config) { c.LandmarkModel.Crop.Scale = 5 }, onnx.ErrConfig},
		{"NaN landmark crop offset", func(c *onnx.Config) { c.LandmarkModel.Crop.OffsetY = math.NaN() }, onnx.ErrConfig},
		{"landmark crop offset beyond a box", func(c *onnx.Config) { c.LandmarkModel.Crop.OffsetX = 1.5 }, onnx.ErrConfig},
		{"negative mouth weight", func(c *onnx.Config) { c.MouthWeight = -1 }, onnx.ErrConfig},
		{"infinite mouth weight", func(c *onnx.Config) { c.MouthWeight = math.Inf(1) }, onnx.ErrConfig},
		{"negative robust scale", func(c *onnx.Config) { c.RobustScale = -1 }, onnx.ErrConfig},
		{"NaN robust scale", func(c *onnx.Config) { c.RobustScale = math.NaN() }, onnx.ErrConfig},
		{"unknown five-point rule", func(c *onnx.Config) { c.FivePoints = "pupils" }, onnx.ErrConfig},
		{"negative refine", func(c *onnx.Config) { c.LandmarkModel.Refine = -1 }, onnx.ErrConfig},
		{"too many refine passes", func(c *onnx.Config) { c.LandmarkModel.Refine = 4 }, onnx.ErrConfig},
		{"zero refine spread", func(c *onnx.Config) { c.LandmarkModel.RefineLayout = onnx.PointLayout{CentreX: 0.5, CentreY: 0.5} }, onnx.ErrConfig},
		{"refine centre outside the crop", func(c *onnx.Config) {
			c.LandmarkModel.RefineLayout = onnx.PointLayout{CentreX: 2, CentreY: 0.5, Spread: 0.3}
		}, onnx.ErrConfig},
		{"missing library", func(c *onnx.Config) { c.Library = "/nonexistent/libonnxruntime.so.1" }, onnx.ErrLibrary},
		{"library of the wrong hash", func(c *onnx.Config) { c.Library = garbage }, onnx.ErrLibrary},
		{"missing model", func(c *onnx.Config) { c.Model.File = "/nonexistent/model.onnx" }, onnx.ErrModel},
		{"model of the wrong hash", func(c *onnx.Config) { c.Model.File = garbage }, onnx.ErrModel},
		{"not a model", func(c *onnx.Config) { c.Model.File, c.Model.SHA256 = garbage, "" }, onnx.ErrModel},
		{"wrong input name", func(c *onnx.Config) { c.Model.Input = "pixels" }, onnx.ErrModel},
		{"wrong output size", func(c *onnx.Config) { c.Model.Dim = 128 }, onnx.ErrModel},
		{"wrong input size", func(c *onnx.Config) { c.Model.Size = 96 }, onnx.ErrModel},
		{"missing 68-point predictor", func(c *onnx.Config) { c.Landmarks, c.Shape68File = onnx.Dlib68, "/nonexistent/sp68.dat" }, onnx.ErrModel},
		{"not a 68-point predictor", func(c *onnx.Config) { c.Landmarks, c.Shape68File = onnx.Mean68, garbage }, onnx.ErrModel},
		{"landmark model is the feature model", func(c *onnx.Config) {
			c.Landmarks, c.LandmarkModel.File, c.LandmarkModel.SHA256 = onnx.ONNX68, c.Model.File, ""
		}, onnx.ErrModel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			cfg.Detection.Workers = 1
			tt.modify(&cfg)
			e, err := onnx.New(cfg)
			if err == nil {
				e.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// errAny stands for any error in a test table.
var errAny = errors.New("any error")

func solid(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	return img
}

// TestHostileInputs: tiny, empty, faceless and corrupt images give empty
// results or typed errors, never a panic; a huge MinFaceSize finds
// nothing in a crop.
func TestHostileInputs(t *testing.T) {
	e := newEmbedder(t, onnx.Dlib68)
	ctx := context.Background()
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, solid(300, 200, color.NRGBA{90, 120, 200, 255}), nil); err != nil {
		t.Fatal(err)
	}
	face, err := os.ReadFile(filepath.Join(testenv.BBT(t), "bbt1.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		img       image.Image // used when data is nil
		data      []byte
		wantErr   error // nil: no error; errAny: any error
		wantFaces int
	}{
		{"1x1 image", solid(1, 1, color.NRGBA{}), nil, nil, 0},
		{"3x2000 image", solid(3, 2000, color.NRGBA{200, 10, 10, 255}), nil, nil, 0},
		{"blank photo", solid(640, 480, color.NRGBA{128, 128, 128, 255}), nil, nil, 0},
		{"empty image", image.NewNRGBA(image.Rect(0, 0, 0, 0)), nil, embed.ErrImage, 0},
		{"nil image", nil, nil, embed.ErrImage, 0},
		{"faceless JPEG", nil, jpg.Bytes(), nil, 0},
		{"truncated JPEG", nil, face[:len(face)/3], imageutil.ErrCorrupt, 0},
		{"garbage bytes", nil, []byte("GIF89a\x00\x00garbage"), errAny, 0},
		{"no bytes", nil, []byte{}, errAny, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var faces []embed.Face
			var err error
			if tt.data != nil {
				faces, err = e.FacesBytes(ctx, tt.data)
			} else {
				faces, err = e.Faces(ctx, tt.img)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatal(err)
			case tt.wantErr != nil && err == nil:
				t.Fatalf("no error, %d faces", len(faces))
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			case err == nil && len(faces) != tt.wantFaces:
				t.Fatalf("%d faces, want %d", len(faces), tt.wantFaces)
			}
		})
	}
	t.Run("huge MinFaceSize", func(t *testing.T) {
		cfg := onnxConfig(t)
		cfg.Detection.Workers, cfg.Detection.MinFaceSize = 1, 10000
		big, err := onnx.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer big.Close()
		faces, err := big.FacesBytes(ctx, face)
		if err != nil {
			t.Fatal(err)
		}
		if len(faces) != 0 {
			t.Fatalf("%d faces at MinFaceSize 10000", len(faces))
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := e.FacesBytes(c, face); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

// TestClose: Close is idempotent, safe beside calls in flight, and later
// calls fail with embed.ErrClosed.
func TestClose(t *testing.T) {
	cfg := onnxConfig(t)
	cfg.Detection.Workers = 2
	e, err := onnx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	img := decode(t, filepath.Join(testenv.BBT(t), "amy", "amy1.png"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Faces(context.Background(), img); err != nil && !errors.Is(err, embed.ErrClosed) {
				t.Error(err)
			}
		}()
	}
	for range 3 {
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if _, err := e.Faces(context.Background(), img); !errors.Is(err, embed.ErrClosed) {
		t.Fatalf("after Close: err = %v, want embed.ErrClosed", err)
	}
}
