//go:build !gofacebaseline

package main

import "context"

// goFaceCompiled says whether goFaceBaseline runs go-face.
const goFaceCompiled = false

// goFaceBaseline is compiled in only with -tags gofacebaseline: go-face
// builds with -march=native, which faceoptout's own code never does.
func goFaceBaseline(ctx context.Context, files []string, modelsDir string, workers int) (*benchRun, error) {
	return nil, errNoBaseline
}
