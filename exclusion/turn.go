package exclusion

// This file holds the Filter's turned scans: when the upright scan of an
// image finds no face, it looks again on reduced copies turned by 90, 270
// and 180 degrees (unless FilterConfig.UprightOnly).

import (
	"context"
	"fmt"
	"image"

	"github.com/faceoptout/faceoptout/embed"
)

// turnReduce is how many times smaller than the upright scan the
// turned scans look (down to a longer side of embed.TurnMinSide): in
// large images they find faces of at least 4*MinFaceSize, for about a
// sixteenth of an upright scan's detection cost each.
const turnReduce = 4

// turns returns the turned scans the Filter asks for when the upright scan
// finds no face: none with UprightOnly.
func (f *Filter) turns() []embed.Turn {
	if f.cfg.UprightOnly {
		return nil
	}
	return []embed.Turn{{Degrees: 90, Reduce: turnReduce}, {Degrees: 270, Reduce: turnReduce}, {Degrees: 180, Reduce: turnReduce}}
}

// facesTurned finds the faces of img with the Filter's embedder, upright
// and, when that finds none, on reduced turned copies (f.turns; see
// embed.FacesTurned). Boxes are in img's coordinates.
func (f *Filter) facesTurned(ctx context.Context, img *image.NRGBA) ([]embed.Face, int, error) {
	faces, turn, _, err := embed.FacesTurned(ctx, f.emb, img, f.turns())
	switch {
	case err != nil && turn == 0:
		return nil, 0, fmt.Errorf("finding faces: %w", err)
	case err != nil:
		return nil, 0, fmt.Errorf("finding faces turned %d°: %w", turn, err)
	}
	return faces, turn, nil
}
