package onnx_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// BenchmarkFacesBytes: files to descriptors on faces/idols, one photo per
// iteration, one worker, dlib beside the ONNX embedder.
func BenchmarkFacesBytes(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(testenv.Faces(b), "idols", "*.jpg"))
	if len(files) == 0 {
		b.Fatal("no faces/idols photos")
	}
	data := make([][]byte, len(files))
	for i, f := range files {
		var err error
		if data[i], err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
	}
	run := func(b *testing.B, e interface {
		FacesBytes(context.Context, []byte) ([]embed.Face, error)
	}) {
		ctx := context.Background()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			if _, err := e.FacesBytes(ctx, data[i%len(data)]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("dlib", func(b *testing.B) {
		dc := embed.DefaultDlibConfig()
		dc.ModelsDir, dc.Workers = testenv.Models(b), 1
		d, err := embed.NewDlib(dc)
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		run(b, d)
	})
	for _, lm := range []onnx.Landmarker{onnx.Dlib68, onnx.ONNX68} {
		b.Run("onnx-"+string(lm), func(b *testing.B) {
			cfg := onnxConfig(b)
			cfg.Detection.Workers, cfg.Landmarks = 1, lm
			e, err := onnx.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			run(b, e)
		})
	}
}

// BenchmarkFacesBytesInterleaved: files to descriptors on faces/idols, one
// worker each, dlib and the default ONNX embedder on the same photo one
// after the other, so a changing machine load hits both alike. It reports
// each one's ms per photo and ONNX's photos/s as a multiple of dlib's.
//
//	go test ./embed/onnx -run '^$' -bench FacesBytesInterleaved -benchtime 102x
func BenchmarkFacesBytesInterleaved(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(testenv.Faces(b), "idols", "*.jpg"))
	if len(files) == 0 {
		b.Fatal("no faces/idols photos")
	}
	data := make([][]byte, len(files))
	for i, f := range files {
		var err error
		if data[i], err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
	}
	dc := embed.DefaultDlibConfig()
	dc.ModelsDir, dc.Workers = testenv.Models(b), 1
	d, err := embed.NewDlib(dc)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	cfg := onnxConfig(b)
	cfg.Detection.Workers = 1
	e, err := onnx.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	var td, to time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := data[i%len(data)]
		t := time.Now()
		if _, err := d.FacesBytes(ctx, p); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if _, err := e.FacesBytes(ctx, p); err != nil {
			b.Fatal(err)
		}
		td, to = td+t2.Sub(t), to+time.Since(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(td.Milliseconds())/n, "dlib-ms/photo")
	b.ReportMetric(float64(to.Milliseconds())/n, "onnx-ms/photo")
	if to > 0 {
		b.ReportMetric(float64(td)/float64(to), "onnx-vs-dlib-photos/s")
	}
}
