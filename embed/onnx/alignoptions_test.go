package onnx_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// TestAlignmentOptions: the landmark model's crop (LandmarkModelConfig.Crop),
// its extra passes (Refine), Config.FivePoints, EyesNose, MouthWeight and EdgeFill are part
// of the Model's identity only when set, and keep the boxes; the measured
// ones keep the five points and the descriptors near the default's. A crop
// far off the face still gives a descriptor (a poor one).
func TestAlignmentOptions(t *testing.T) {
	base := newEmbedder(t, onnx.ONNX68)
	dir := testenv.BBT(t)
	photos, _ := filepath.Glob(filepath.Join(dir, "*", "*1.png"))
	if len(photos) < 2 {
		t.Fatalf("no faces/bbt photos in %s", dir)
	}
	ctx := context.Background()
	type run struct{ faces []embed.Face }
	var want []run
	for _, p := range photos {
		faces, err := base.Faces(ctx, decode(t, p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want = append(want, run{faces})
	}
	tests := []struct {
		name   string
		modify func(c *onnx.Config)
		sameID bool
		near   bool // the points and descriptors stay near the default's
	}{
		{"zero crop and refine, a layout without refine", func(c *onnx.Config) {
			c.LandmarkModel.Crop, c.LandmarkModel.Refine, c.LandmarkModel.RefineLayout = onnx.LandmarkCrop{}, 0, onnx.FRLandmarkLayout()
		}, true, true},
		{"eyes and nose only", func(c *onnx.Config) { c.EyesNose = true }, false, true},
		{"detect crop, refine twice", func(c *onnx.Config) { c.LandmarkModel.Crop, c.LandmarkModel.Refine = onnx.DetectCrop(), 2 }, false, true},
		{"mouth weighted a quarter", func(c *onnx.Config) { c.MouthWeight = 0.25 }, false, true},
		{"mouth weight 1", func(c *onnx.Config) { c.MouthWeight = 1 }, true, true},
		{"robust fit", func(c *onnx.Config) { c.RobustScale = 2 }, false, true},
		{"eyelid five points", func(c *onnx.Config) { c.FivePoints = onnx.FiveLids }, false, true},
		{"edge fill", func(c *onnx.Config) { c.EdgeFill = true }, false, true},
		{"wide crop off-centre", func(c *onnx.Config) { c.LandmarkModel.Crop = onnx.LandmarkCrop{Scale: 3, OffsetX: 0.5, OffsetY: -1} }, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base.Config()
			cfg.Detection.Workers = 1
			tt.modify(&cfg)
			e, err := onnx.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if got := e.Model().ID == base.Model().ID; got != tt.sameID {
				t.Fatalf("same Model ID as the default: %v, want %v", got, tt.sameID)
			}
			if got := e.Config(); got.LandmarkModel != cfg.LandmarkModel || got.FivePoints != cfg.FivePoints || got.EdgeFill != cfg.EdgeFill || got.EyesNose != cfg.EyesNose ||
				got.MouthWeight != cfg.MouthWeight || got.RobustScale != cfg.RobustScale {
				t.Fatalf("Config() = %+v, want %+v", got, cfg)
			}
			for i, p := range photos {
				faces, err := e.Faces(ctx, decode(t, p))
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if len(faces) != len(want[i].faces) {
					t.Fatalf("%s: %d faces, default %d", p, len(faces), len(want[i].faces))
				}
				for j, f := range faces {
					w := want[i].faces[j]
					if f.Box != w.Box || len(f.Landmarks) != 5 || len(f.Descriptor) != 512 {
						t.Fatalf("%s face %d: box %v, %d points, %d numbers; default box %v", p, j, f.Box, len(f.Landmarks), len(f.Descriptor), w.Box)
					}
					if !tt.near {
						continue
					}
					// The points move by less than a quarter of the box
					// (an eye's width); the descriptors stay within a
					// same-person distance.
					for k, q := range f.Landmarks {
						if d := math.Hypot(float64(q.X-w.Landmarks[k].X), float64(q.Y-w.Landmarks[k].Y)); d > float64(f.Box.Dx())/4 {
							t.Errorf("%s face %d point %d: %v, default %v", p, j, k, q, w.Landmarks[k])
						}
					}
					d := f.Descriptor.Distance(w.Descriptor)
					if tt.sameID && d != 0 {
						t.Errorf("%s face %d: descriptor %.4f from the default's", p, j, d)
					}
					if d > 0.8 {
						t.Errorf("%s face %d: descriptor %.3f from the default's", p, j, d)
					}
				}
			}
		})
	}
}
