package embed

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// DlibModelName is the Model name of the dlib embedder.
const DlibModelName = "dlib-resnet-v1"

// The dlib model's calibration (Model.Threshold and Model.WeakReview): 0.6
// is dlib's own operating point; the weak-face distance is measured in
// exclusion/EVALUATION.md.
const (
	DlibThreshold  = 0.6
	DlibWeakReview = 0.68
)

// dlibModel returns the identity of the dlib embedder cfg describes: the
// SHA-256 of the descriptor's inputs, namely the shape predictor (it aligns
// the chip), the ResNet's weights and the chip padding. The detector,
// MinFaceSize and the other scan settings decide which faces are found, not
// how a face is described, so they are not part of it.
func dlibModel(cfg DlibConfig) (Model, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", DlibModelName)
	for _, f := range []string{ShapePredictorFile, ResNetFile} {
		sum, err := fileSHA256(filepath.Join(cfg.ModelsDir, f))
		if err != nil {
			return Model{}, fmt.Errorf("%w: %v", ErrNoModels, err)
		}
		fmt.Fprintf(h, "%s %s\n", f, sum)
	}
	fmt.Fprintf(h, "chip_padding %s\n", strconv.FormatFloat(cfg.ChipPadding, 'g', -1, 64))
	return Model{Name: DlibModelName, Dim: DlibDim, ID: hex.EncodeToString(h.Sum(nil)), Threshold: DlibThreshold, WeakReview: DlibWeakReview}, nil
}

// fileSHA256 returns the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
