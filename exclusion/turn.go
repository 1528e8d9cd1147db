package exclusion

// This file holds the Filter's turned scans: when the upright scan of an
// image finds no face, it looks again on reduced copies turned by 90, 270
// and 180 degrees (unless FilterConfig.UprightOnly).

import (
	"context"
	"fmt"
	"image"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/imageutil"
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
// and, when that finds none, on reduced turned copies (f.turns). Boxes are
// in img's coordinates.
func (f *Filter) facesTurned(ctx context.Context, img *image.NRGBA) ([]embed.Face, int, error) {
	faces, err := f.emb.Faces(ctx, img)
	if err != nil {
		return nil, 0, fmt.Errorf("finding faces: %w", err)
	}
	turns := f.turns()
	if len(faces) > 0 || len(turns) == 0 {
		return faces, 0, nil
	}
	// One reduced copy serves every turn: a box mean, as the embedders'
	// own turned scans reduce a decoded image (a JPEG's copy there is
	// DCT-scaled, much the same).
	b := img.Bounds()
	small := img
	if reduce := embed.TurnReduce(b.Size(), turns[0].Reduce); reduce > 1 {
		small = imageutil.Shrink(img, reduce)
	}
	for _, t := range turns {
		turned := rotate(small, t.Degrees)
		if faces, err = f.emb.Faces(ctx, turned); err != nil {
			return nil, 0, fmt.Errorf("finding faces turned %d°: %w", t.Degrees, err)
		}
		if len(faces) == 0 {
			continue
		}
		sb := small.Bounds()
		fx, fy := float64(b.Dx())/float64(sb.Dx()), float64(b.Dy())/float64(sb.Dy())
		for i := range faces {
			r := unrotate(faces[i].Box, sb, t.Degrees).Sub(sb.Min)
			faces[i].Box = image.Rect(int(float64(r.Min.X)*fx+0.5), int(float64(r.Min.Y)*fy+0.5),
				int(float64(r.Max.X)*fx+0.5), int(float64(r.Max.Y)*fy+0.5)).Add(b.Min)
			faces[i].Landmarks = nil
		}
		return faces, t.Degrees, nil
	}
	return faces, 0, nil
}

// rotate returns img turned clockwise by deg (0, 90, 180 or 270).
func rotate(img image.Image, deg int) image.Image {
	if imageutil.TurnOrientation(deg) == 1 {
		return img
	}
	return imageutil.Orient(img, imageutil.TurnOrientation(deg))
}

// unrotate maps a box found in img turned clockwise by deg back to img,
// whose bounds are b.
func unrotate(r image.Rectangle, b image.Rectangle, deg int) image.Rectangle {
	return embed.UnturnBox(r, b.Size(), deg).Add(b.Min)
}
