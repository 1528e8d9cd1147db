package exclusion

// This file decodes, hashes and turns the images the Filter checks: through
// the embedder's own decoder when it has one (BytesEmbedder), else with
// imageutil.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/imageutil"
)

const (
	// maxImageBytes is imageutil's default input limit: the largest image
	// CheckImage reads.
	maxImageBytes = 20 << 20
	// phashMatchDistance is the largest Hamming distance between perceptual
	// hashes that counts as the same image.
	phashMatchDistance = imageutil.DefaultMatchDistance
	// turnReduce is how many times smaller than the upright scan the
	// turned scans look (down to a longer side of embed.TurnMinSide): in
	// large images they find faces of at least 4*MinFaceSize, for about a
	// sixteenth of an upright scan's detection cost each.
	turnReduce = 4
	// checkMaxPixels bounds the pixels CheckImage decodes and scans: a
	// larger image (up to imageutil's 40 MP limit) is decoded reduced by
	// an integer factor k (a JPEG by its DCT scaling, 2, 4 or 8) to within
	// it, and scanned so, finding faces from k*MinFaceSize. It keeps the
	// memory of one check near that of a 16 MP image.
	checkMaxPixels = 16_000_000
)

// BytesEmbedder is an Embedder that decodes encoded images itself, as
// embed.Dlib does (JPEG by libjpeg-turbo inside its workers, DCT-scaled to
// what detection needs). A Filter whose embedder implements it checks
// encoded images through FacesBytesWith: the perceptual hash is taken from
// the reduced copy handed to BytesOptions.Look, before any face is
// searched. Other embedders get images decoded by imageutil.
type BytesEmbedder interface {
	embed.Embedder
	FacesBytesWith(ctx context.Context, data []byte, opts embed.BytesOptions) (embed.BytesResult, error)
}

var _ BytesEmbedder = (*embed.Dlib)(nil)

// Reasons checkImage's look stops a check before faces are searched.
var (
	errImageMatched = errors.New("exclusion: image matched a removed image")
	errNoFaces      = errors.New("exclusion: no approved faces")
)

type decoded struct {
	img    *image.NRGBA
	format string
}

// decodeImage decodes within imageutil's default limits, applying EXIF
// orientation. Errors wrap imageutil.ErrTooLarge, ErrFormat or ErrCorrupt.
func decodeImage(data []byte) (decoded, error) {
	m, err := imageutil.DecodeBytes(data, imageutil.WithLimits(imageutil.DefaultLimits()))
	if err != nil {
		return decoded{}, fmt.Errorf("exclusion: decoding image: %w", err)
	}
	return decoded{img: m.RGB, format: m.Format}, nil
}

func phash(img image.Image) uint64 { return uint64(imageutil.PHash(img)) }

func hashDistance(a, b uint64) int { return imageutil.Hash(a).Distance(imageutil.Hash(b)) }

// checkImage decides on an encoded image of at most maxImageBytes: its
// SHA-256 first, then its perceptual hash (only when approved removals
// hold hashes), then its faces (only when approved requests hold faces of
// the Filter's model). An image-level match ends the check before any
// face is searched; a registry without faces still decodes the image, so
// an image that cannot be decoded stays Unchecked.
func (f *Filter) checkImage(ctx context.Context, data []byte) Decision {
	if len(data) > maxImageBytes {
		return unchecked(fmt.Errorf("%w: %w", ErrUnchecked, &imageutil.LimitError{Limit: imageutil.LimitBytes, Value: int64(len(data)), Max: maxImageBytes}))
	}
	var d Decision
	sum := sha256.Sum256(data)
	d.Images = f.reg.matchSHA(hex.EncodeToString(sum[:]))
	if len(d.Images) > 0 {
		d.Verdict = Block
		return f.finish(ctx, d)
	}
	hashes := f.cfg.MatchDistance > 0 && f.reg.hasHashes()
	noFaces := !f.reg.hasFaces(f.model)
	look := func(img image.Image) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if hashes {
			if d.Images = f.reg.matchPHash(phash(img), f.cfg.MatchDistance); len(d.Images) > 0 {
				return errImageMatched
			}
		}
		if noFaces {
			return errNoFaces
		}
		return nil
	}
	var (
		faces []embed.Face
		turn  int
		err   error
	)
	if be, ok := f.emb.(BytesEmbedder); ok {
		opts := embed.BytesOptions{Turns: f.turns(), MaxPixels: checkMaxPixels}
		if hashes || noFaces {
			opts.Look = look
		}
		var res embed.BytesResult
		res, err = be.FacesBytesWith(ctx, data, opts)
		faces, turn = res.Faces, res.Turn
	} else {
		var m *imageutil.Image
		if m, err = imageutil.DecodeBytes(data, imageutil.WithPixelBudget(checkMaxPixels)); err != nil {
			err = fmt.Errorf("exclusion: decoding image: %w", err)
		} else if err = look(m.RGB); err == nil {
			faces, turn, err = f.facesTurned(ctx, m.RGB)
			if k := m.Reduction; k > 1 {
				for i := range faces {
					faces[i].Box = image.Rectangle{Min: faces[i].Box.Min.Mul(k), Max: faces[i].Box.Max.Mul(k)}
					faces[i].Landmarks = nil
				}
			}
		}
	}
	switch {
	case errors.Is(err, errImageMatched):
		d.Verdict = Block
		return f.finish(ctx, d)
	case errors.Is(err, errNoFaces):
		d.Verdict = Allow
		return f.finish(ctx, d)
	case err != nil:
		return unchecked(fmt.Errorf("%w: %w", ErrUnchecked, err))
	}
	d.Verdict = Allow
	for i := range faces {
		fc := f.checkFace(faces[i].Descriptor, &faces[i].Quality)
		fc.Box = faces[i].Box
		fc.Rotation = turn
		d.Faces = append(d.Faces, fc)
		d.Verdict = combine(d.Verdict, fc.Verdict)
	}
	return f.finish(ctx, d)
}

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
	// One reduced copy serves every turn.
	b := img.Bounds()
	small := img
	reduce := turns[0].Reduce
	for reduce > 1 && max(b.Dx(), b.Dy())/reduce < embed.TurnMinSide {
		reduce /= 2
	}
	if reduce > 1 {
		small = imageutil.Resize(img, max(1, b.Dx()/reduce), max(1, b.Dy()/reduce))
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

// hasHashes reports whether approved removals hold perceptual hashes.
func (r *Registry) hasHashes() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.hashes) > 0
}

// hasFaces reports whether approved requests hold faces of models[model].
// A model out of range counts as having faces, so the check goes on (and
// fails closed there).
func (r *Registry) hasFaces(model int) bool {
	g := r.gallery(model)
	return g == nil || g.Len() > 0
}

// rotate returns img turned clockwise by deg (0, 90, 180 or 270).
func rotate(img image.Image, deg int) image.Image {
	switch deg {
	case 90:
		return imageutil.Orient(img, 6) // EXIF 6: turn 90° clockwise
	case 180:
		return imageutil.Orient(img, 3)
	case 270:
		return imageutil.Orient(img, 8)
	}
	return img
}

// unrotate maps a box found in img turned clockwise by deg back to img,
// whose bounds are b.
func unrotate(r image.Rectangle, b image.Rectangle, deg int) image.Rectangle {
	return embed.UnturnBox(r, b.Size(), deg).Add(b.Min)
}
