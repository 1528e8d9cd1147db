package onnx

import (
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/faceoptout/faceoptout/internal/testenv"
)

// BenchmarkSession: one run of each default model on one thread, at each
// graph optimisation level (ModelConfig.Optimization), with denormals
// flushed to zero as the embedder runs it (flushed) and with the thread's
// default floating-point settings (unflushed).
//
//	go test ./embed/onnx -run '^$' -bench Session
func BenchmarkSession(b *testing.B) {
	dir, cfg := runtimeForTest(b)
	models := []struct {
		name, file, input, output string
		shape                     ort.Shape
		dim                       int
	}{
		{"feature", cfg.Model.File, cfg.Model.Input, cfg.Model.Output, ort.NewShape(1, 3, int64(cfg.Model.Size), int64(cfg.Model.Size)), cfg.Model.Dim},
		{"landmark", cfg.LandmarkModel.File, cfg.LandmarkModel.Input, cfg.LandmarkModel.Output, ort.NewShape(1, 1, int64(cfg.LandmarkModel.Size), int64(cfg.LandmarkModel.Size)), 136},
	}
	for _, m := range models {
		path := filepath.Join(dir, m.file)
		if _, err := checkFile(ErrModel, path, ""); err != nil {
			skipOrFail(b, err)
		}
		for _, opt := range []Optimization{OptimizeAll, OptimizeExtended, OptimizeBasic, OptimizeNone} {
			for _, flushed := range []bool{true, false} {
				name := m.name + "/" + string(opt) + "/flushed"
				if !flushed {
					name = m.name + "/" + string(opt) + "/unflushed"
				}
				b.Run(name, func(b *testing.B) {
					s, err := newSession(path, m.input, m.output, m.shape, m.dim, 1, opt)
					if err != nil {
						b.Fatal(err)
					}
					defer s.destroy()
					in := s.in.GetData()
					for i := range in {
						in[i] = float32(i%255)/128 - 1
					}
					run := s.run
					if !flushed {
						run = s.s.Run
					}
					for b.Loop() {
						if err := run(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// runtimeForTest loads ONNX Runtime from the test models directory and
// returns that directory with DefaultConfig, or skips t (fails it under
// CI) when the library is missing.
func runtimeForTest(t testing.TB) (string, Config) {
	t.Helper()
	dir := testenv.Models(t)
	cfg := DefaultConfig()
	lib := filepath.Join(dir, cfg.Library)
	if _, err := checkFile(ErrLibrary, lib, ""); err != nil {
		skipOrFail(t, err)
	}
	if err := loadRuntime(lib); err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if testenv.CI() {
		t.Fatalf("CI=true: %v; run make models", err)
	}
	t.Skip(err)
}
