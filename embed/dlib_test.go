package embed_test

import (
	"context"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*embed.DlibConfig)
		field string
	}{
		{"no models dir", func(c *embed.DlibConfig) { c.ModelsDir = "" }, "ModelsDir"},
		{"unknown detector", func(c *embed.DlibConfig) { c.Detector = "haar" }, "Detector"},
		{"tiny min face", func(c *embed.DlibConfig) { c.MinFaceSize = 2 }, "MinFaceSize"},
		{"negative workers", func(c *embed.DlibConfig) { c.Workers = -1 }, "Workers"},
		{"negative padding", func(c *embed.DlibConfig) { c.Padding = -1 }, "Padding"},
		{"negative jitter", func(c *embed.DlibConfig) { c.Jitter = -1 }, "Jitter"},
		{"negative max faces", func(c *embed.DlibConfig) { c.MaxFaces = -1 }, "MaxFaces"},
		{"negative max pixels", func(c *embed.DlibConfig) { c.MaxPixels = -1 }, "MaxPixels"},
		{"negative max upsample pixels", func(c *embed.DlibConfig) { c.MaxUpsamplePixels = -1 }, "MaxUpsamplePixels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := embed.DefaultDlibConfig()
			tt.edit(&cfg)
			_, err := embed.NewDlib(cfg)
			if !errors.Is(err, embed.ErrConfig) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("got %v, want ErrConfig naming %s", err, tt.field)
			}
		})
	}
}

func TestNoModels(t *testing.T) {
	dir := t.TempDir()
	cfg := embed.DefaultDlibConfig()
	cfg.ModelsDir = dir
	_, err := embed.NewDlib(cfg)
	if !errors.Is(err, embed.ErrNoModels) || !strings.Contains(err.Error(), embed.ShapePredictorFile) {
		t.Fatalf("empty dir: got %v, want ErrNoModels naming %s", err, embed.ShapePredictorFile)
	}
	// Corrupt files: present but garbage.
	for _, f := range []string{embed.ShapePredictorFile, embed.ResNetFile} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("not a model"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err = embed.NewDlib(cfg)
	if !errors.Is(err, embed.ErrNoModels) || !strings.Contains(err.Error(), embed.ShapePredictorFile) {
		t.Fatalf("corrupt file: got %v, want ErrNoModels naming %s", err, embed.ShapePredictorFile)
	}
}

func TestCorruptResNet(t *testing.T) {
	models := testenv.Models(t)
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(models, embed.ShapePredictorFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, embed.ShapePredictorFile), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := os.ReadFile(filepath.Join(models, embed.ResNetFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, embed.ResNetFile), res[:len(res)/3], 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := embed.DefaultDlibConfig()
	cfg.ModelsDir = dir
	_, err = embed.NewDlib(cfg)
	if !errors.Is(err, embed.ErrNoModels) || !strings.Contains(err.Error(), embed.ResNetFile) {
		t.Fatalf("truncated ResNet: got %v, want ErrNoModels naming %s", err, embed.ResNetFile)
	}
}

func TestOddImages(t *testing.T) {
	d := newDlib(t, 80)
	ctx := context.Background()
	tests := []struct {
		name    string
		img     image.Image
		wantErr error
	}{
		{"1x1", image.NewNRGBA(image.Rect(0, 0, 1, 1)), nil},
		{"1x1 gray", image.NewGray(image.Rect(5, 5, 6, 6)), nil},
		{"3x1000", image.NewRGBA(image.Rect(0, 0, 3, 1000)), nil},
		{"empty", image.NewNRGBA(image.Rect(0, 0, 0, 0)), embed.ErrImage},
		{"nil", nil, embed.ErrImage},
		// Never allocated: NewDlib rejects it by its bounds alone.
		{"huge", hugeImage{image.Rect(0, 0, 100_000, 100_000)}, embed.ErrImage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			faces, err := d.Faces(ctx, tt.img)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if err == nil && len(faces) != 0 {
				t.Fatalf("%d faces in a blank image", len(faces))
			}
		})
	}
}

// hugeImage has bounds but no pixels.
type hugeImage struct{ r image.Rectangle }

func (h hugeImage) ColorModel() color.Model { return color.RGBAModel }
func (h hugeImage) Bounds() image.Rectangle { return h.r }
func (h hugeImage) At(x, y int) color.Color { return color.Black }

func TestCancelled(t *testing.T) {
	d := newDlib(t, 80)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	img := decodeFile(t, facesPath(t, "bbt", "amy", "amy1.png"))
	if _, err := d.Faces(ctx, img); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// TestCloseInFlight closes the embedder while calls run: they finish or
// fail with ErrClosed, later calls fail with ErrClosed, and Close is
// idempotent. Run it with -race.
func TestCloseInFlight(t *testing.T) {
	cfg := embed.DefaultDlibConfig()
	cfg.ModelsDir = testenv.Models(t)
	cfg.Workers = 2
	d, err := embed.NewDlib(cfg)
	if err != nil {
		t.Fatal(err)
	}
	img := decodeFile(t, facesPath(t, "bbt", "amy", "amy1.png"))
	var wg sync.WaitGroup
	started := make(chan struct{}, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			for range 3 {
				faces, err := d.Faces(context.Background(), img)
				if err != nil && !errors.Is(err, embed.ErrClosed) {
					t.Errorf("in flight: %v", err)
				}
				if err == nil && len(faces) != 1 {
					t.Errorf("in flight: %d faces, want 1", len(faces))
				}
			}
		}()
	}
	for range 8 {
		<-started
	}
	var cwg sync.WaitGroup
	for range 3 {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			if err := d.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
	}
	cwg.Wait()
	wg.Wait()
	if _, err := d.Faces(context.Background(), img); !errors.Is(err, embed.ErrClosed) {
		t.Fatalf("after Close: got %v, want ErrClosed", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestLargest(t *testing.T) {
	if _, err := embed.Largest(nil); !errors.Is(err, embed.ErrNoFace) {
		t.Fatalf("got %v, want ErrNoFace", err)
	}
	faces := []embed.Face{{Quality: embed.Quality{Size: 90}}, {Quality: embed.Quality{Size: 120}}, {Quality: embed.Quality{Size: 100}}}
	f, err := embed.Largest(faces)
	if err != nil || f.Quality.Size != 120 {
		t.Fatalf("got %+v, %v", f.Quality, err)
	}
}
