package onnx

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/faceoptout/faceoptout/embed"
)

// Augment lists the extra views of a face FacesAugmented describes, for
// enrolment: an opted-out face enrolled as several descriptors (its chip,
// its mirror image, its chip shifted) is matched by the nearest of them,
// which costs nothing at crawl time. Probes are described once, as Faces
// describes them.
type Augment struct {
	// Mirror adds the chip mirrored left to right (nothing is added when
	// ModelConfig.Flip already sums both).
	Mirror bool
	// Shift, when above 0, adds four chips aligned Shift chip pixels
	// left, right, up and down of the template (at most a quarter of the
	// chip's side).
	Shift float64
}

// AugmentedFace is a face with the extra descriptors of Augment's views.
type AugmentedFace struct {
	embed.Face
	// Extra holds one L2-normalised descriptor per extra view, in the
	// order Mirror, then Shift's left, right, up, down.
	Extra []embed.Descriptor
}

// FacesAugmented is Faces with the extra descriptors aug asks for, for
// enrolment (each extra view costs one run of the model per face).
func (e *Embedder) FacesAugmented(ctx context.Context, img image.Image, aug Augment) ([]AugmentedFace, error) {
	if !(aug.Shift >= 0 && aug.Shift <= float64(e.cfg.Model.Size)/4) || math.IsInf(aug.Shift, 0) {
		return nil, fmt.Errorf("%w: Augment.Shift %v is outside [0, %d]", ErrConfig, aug.Shift, e.cfg.Model.Size/4)
	}
	var faces []embed.Face
	var extra [][]embed.Descriptor
	_, err := e.locator().Locate(ctx, img, func(ctx context.Context, s embed.Scan, found []embed.Located) error {
		var err error
		faces, extra, err = e.describe(ctx, s, found, &aug)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]AugmentedFace, len(faces))
	for i := range faces {
		out[i] = AugmentedFace{Face: faces[i], Extra: extra[i]}
	}
	return out, nil
}

// augment describes the extra views of the face fwd aligns, whose chip is
// chip.
func (e *Embedder) augment(s embed.Scan, fwd Affine, chip []float32, sess *session, aug *Augment) ([]embed.Descriptor, error) {
	var out []embed.Descriptor
	if aug.Mirror && !e.cfg.Model.Flip {
		d, err := e.describeChip(chip, sess, true)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if aug.Shift > 0 {
		for _, dv := range [4][2]float64{{-aug.Shift, 0}, {aug.Shift, 0}, {0, -aug.Shift}, {0, aug.Shift}} {
			shifted := fwd
			shifted[2] += dv[0]
			shifted[5] += dv[1]
			d, _, err := e.embed(s, shifted, sess, false)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
	}
	return out, nil
}
