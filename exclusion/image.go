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
