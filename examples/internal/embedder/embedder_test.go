package embedder_test

import (
	"context"
	"errors"
	"flag"
	"image"
	"io"
	"runtime"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/examples/internal/progenv"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// TestRegisterDefault: --embedder's default is the program's; KindSet
// reports whether the flag was given; KindOf maps a Model to its kind.
func TestRegisterDefault(t *testing.T) {
	for _, tc := range []struct {
		name     string
		def      string
		args     []string
		wantKind string
		wantSet  bool
	}{
		{"onnx default", embedder.ONNX, nil, embedder.ONNX, false},
		{"dlib default", embedder.Dlib, nil, embedder.Dlib, false},
		{"dlib given", embedder.ONNX, []string{"--embedder", "dlib"}, embedder.Dlib, true},
		{"onnx given", embedder.ONNX, []string{"--embedder", "onnx"}, embedder.ONNX, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f := embedder.RegisterDefault(fs, nil, tc.def)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if f.Kind != tc.wantKind || f.KindSet != tc.wantSet {
				t.Errorf("Kind %q, KindSet %v; want %q, %v", f.Kind, f.KindSet, tc.wantKind, tc.wantSet)
			}
		})
	}
	if k := embedder.KindOf(embed.Model{Name: embed.DlibModelName}); k != embedder.Dlib {
		t.Errorf("KindOf(dlib's model) = %q", k)
	}
	if k := embedder.KindOf(embed.Model{Name: onnx.DefaultConfig().Model.Name}); k != embedder.ONNX {
		t.Errorf("KindOf(the ONNX model) = %q", k)
	}
}

func TestFlags(t *testing.T) {
	env := func(k string) string {
		if k == progenv.ModelsEnv {
			return "/env/models"
		}
		return ""
	}
	for _, tc := range []struct {
		name       string
		args       []string
		wantKind   string
		wantModels string
		wantMin    int
		wantErr    bool
	}{
		{"defaults", nil, embedder.Dlib, "/env/models", embed.DefaultDlibConfig().MinFaceSize, false},
		{"onnx with models", []string{"--embedder", "onnx", "--models", "/m", "--min-face", "120"}, embedder.ONNX, "/m", 120, false},
		{"unknown embedder", []string{"--embedder", "arcface"}, "", "", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f := embedder.Register(fs, env)
			err := fs.Parse(tc.args)
			if tc.wantErr {
				if err == nil {
					t.Fatal("parsed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Kind != tc.wantKind {
				t.Errorf("Kind %q, want %q", f.Kind, tc.wantKind)
			}
			d, o := f.DlibConfig(), f.ONNXConfig()
			if d.ModelsDir != tc.wantModels || o.ModelsDir != tc.wantModels || o.Detection.ModelsDir != tc.wantModels {
				t.Errorf("models %q, %q, %q; want %q", d.ModelsDir, o.ModelsDir, o.Detection.ModelsDir, tc.wantModels)
			}
			if d.MinFaceSize != tc.wantMin || o.Detection.MinFaceSize != tc.wantMin {
				t.Errorf("MinFaceSize %d, %d; want %d", d.MinFaceSize, o.Detection.MinFaceSize, tc.wantMin)
			}
		})
	}
}

// TestNewFailsWithoutModels: both embedders refuse an empty models
// directory with their package's error.
func TestNewFailsWithoutModels(t *testing.T) {
	for _, tc := range []struct {
		kind string
		want error
	}{
		{embedder.Dlib, embed.ErrNoModels},
		{embedder.ONNX, onnx.ErrLibrary},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			f := embedder.Register(fs, nil)
			if err := fs.Parse([]string{"--embedder", tc.kind, "--models", t.TempDir()}); err != nil {
				t.Fatal(err)
			}
			emb, err := f.New()
			if err == nil {
				emb.Close()
				t.Fatal("New succeeded without models")
			}
			if !errors.Is(err, tc.want) && !errors.Is(err, onnx.ErrModel) {
				t.Errorf("New: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestZeroWorkers: --workers 0 means one per CPU for both embedders (the
// ONNX embedder's sessions as well as its detector's workers).
func TestZeroWorkers(t *testing.T) {
	models := testenv.ONNX(t)
	testenv.Models(t)
	for _, kind := range []string{embedder.Dlib, embedder.ONNX} {
		t.Run(kind, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			f := embedder.Register(fs, nil)
			if err := fs.Parse([]string{"--embedder", kind, "--models", models, "--workers", "0"}); err != nil {
				t.Fatal(err)
			}
			if f.Workers() != runtime.NumCPU() {
				t.Errorf("Workers() = %d, want %d", f.Workers(), runtime.NumCPU())
			}
			emb, err := f.New()
			if err != nil {
				t.Fatal(err)
			}
			defer emb.Close()
			var got int
			switch e := emb.(type) {
			case *embed.Dlib:
				got = e.Config().Workers
			case *onnx.Embedder:
				got = e.Config().Detection.Workers
			}
			if got != runtime.NumCPU() {
				t.Errorf("the embedder runs %d workers, want %d", got, runtime.NumCPU())
			}
			faces, err := emb.Faces(context.Background(), image.NewNRGBA(image.Rect(0, 0, 64, 64)))
			if err != nil || len(faces) != 0 {
				t.Errorf("Faces of a blank image: %d faces, %v", len(faces), err)
			}
		})
	}
}
