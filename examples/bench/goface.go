//go:build gofacebaseline

package main

import (
	"context"
	"fmt"

	face "github.com/Kagami/go-face"

	"github.com/faceoptout/faceoptout/embed"
)

// goFaceCompiled says whether goFaceBaseline runs go-face.
const goFaceCompiled = true

// goFaceBaseline runs plain go-face (full size, HOG, no upsampling; it
// decodes JPEG with libjpeg and serialises detection and descriptors on one
// recognizer). It builds with -march=native: for the baseline only.
func goFaceBaseline(ctx context.Context, files []string, modelsDir string, workers int) (*benchRun, error) {
	rec, err := face.NewRecognizer(modelsDir)
	if err != nil {
		return nil, fmt.Errorf("go-face: %w", err)
	}
	defer rec.Close()
	return runPipeline(ctx, fmt.Sprintf("go-face (full size, %d goroutines)", workers), files, workers,
		func(ctx context.Context, file string) ([]benchFace, error) {
			faces, err := rec.RecognizeFile(file)
			out := make([]benchFace, len(faces))
			for i, f := range faces {
				out[i] = benchFace{f.Rectangle, append(embed.Descriptor(nil), f.Descriptor[:]...)}
			}
			return out, err
		})
}
