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
	"sync/atomic"

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
	// checkMaxPixels bounds the pixels CheckImage decodes and scans of a
	// JPEG: a larger one (up to imageutil's 40 MP limit) is decoded
	// reduced by its DCT scaling (2, 4 or 8) to within it, and scanned so,
	// finding faces from k*MinFaceSize. It keeps the memory of one check
	// near that of a 16 MP image.
	checkMaxPixels = 16_000_000
	// checkMaxPixelsOther is checkMaxPixels for every other format (PNG,
	// GIF, WebP, BMP, TIFF), decoded by imageutil reduced by the smallest
	// integer factor k that brings it within 8 MP (each pixel the mean of
	// k x k), and scanned so, finding faces from k*MinFaceSize: images of
	// 8 to 32 MP are scanned at half size, 32 to 40 MP at a third. It is
	// below the JPEG bound because these formats are where decompression
	// bombs are cheap (a 105 KB PNG of 36 MP), and it keeps one check of
	// the largest such file the limits admit, detection included, within
	// the 300 MB that RELIABILITY.md measures.
	checkMaxPixelsOther = 8_000_000
	// maxAbandoned bounds the image checks of the whole process that were
	// abandoned at their deadline and still run (a decode cannot be
	// interrupted everywhere: a small lossless WebP expands for seconds
	// after its last read). Past it, image checks answer Unchecked at once
	// instead of starting more work.
	maxAbandoned = 4
)

// checkBudget returns the pixel budget of a check of data: checkMaxPixels
// for a JPEG, checkMaxPixelsOther for anything else.
func checkBudget(data []byte) int64 {
	if len(data) >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff {
		return checkMaxPixels
	}
	return checkMaxPixelsOther
}

// abandoned counts the image checks abandoned at their deadline whose
// decode or scan still runs, in the whole process.
var abandoned atomic.Int64

// decodeCheck decodes an image for the Filter's own scans. Internal tests
// replace it with a decode they hold until released.
var decodeCheck = imageutil.DecodeBytesContext

// errAbandoned explains an Unchecked answer given without starting the
// check because maxAbandoned checks still run.
var errAbandoned = fmt.Errorf("exclusion: %d image checks abandoned at their deadline still run", maxAbandoned)

// runAbandonable runs work on a new goroutine and returns its result, or
// ctx's error as soon as ctx is done: work then goes on in the background
// (it is handed the same ctx, so whatever in it looks at ctx stops early)
// and counts in abandoned until it returns. With maxAbandoned checks
// abandoned and still running, it returns errAbandoned without starting
// work. A panic in work becomes its error.
func runAbandonable[T any](ctx context.Context, work func() (T, error)) (T, error) {
	var zero T
	if abandoned.Load() >= maxAbandoned {
		return zero, errAbandoned
	}
	if ctx.Done() == nil { // no deadline, never cancelled: nothing to abandon
		return work()
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	var state atomic.Int32 // 0 running, 1 returned to the caller, 2 abandoned
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r = result{err: fmt.Errorf("exclusion: image check panicked: %v", p)}
			}
			if !state.CompareAndSwap(0, 1) {
				abandoned.Add(-1)
			}
			done <- r
		}()
		r.v, r.err = work()
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		abandoned.Add(1)
		if state.CompareAndSwap(0, 2) {
			return zero, fmt.Errorf("exclusion: image check abandoned: %w", ctx.Err())
		}
		abandoned.Add(-1) // work returned meanwhile
		r := <-done
		return r.v, r.err
	}
}

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
	res, err := runAbandonable(ctx, func() (scanned, error) { return f.scanImage(ctx, data, hashes, noFaces), nil })
	if err != nil {
		return unchecked(fmt.Errorf("%w: %w", ErrUnchecked, err))
	}
	d.Images = res.images
	faces, turn, err := res.faces, res.turn, res.err
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

// scanned is what scanImage found.
type scanned struct {
	images []ImageMatch // perceptual-hash matches
	faces  []embed.Face
	turn   int
	err    error // errImageMatched, errNoFaces, or why the image is unchecked
}

// scanImage decodes data and looks at it: its perceptual hash (when hashes
// is set) and, unless noFaces, its faces. It runs on its own goroutine
// (see runAbandonable) and touches nothing but its result.
func (f *Filter) scanImage(ctx context.Context, data []byte, hashes, noFaces bool) scanned {
	var res scanned
	look := func(img image.Image) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if hashes {
			if res.images = f.reg.matchPHash(phash(img), f.cfg.MatchDistance); len(res.images) > 0 {
				return errImageMatched
			}
		}
		if noFaces {
			return errNoFaces
		}
		return nil
	}
	budget := checkBudget(data)
	if be, ok := f.emb.(BytesEmbedder); ok {
		opts := embed.BytesOptions{Turns: f.turns(), MaxPixels: budget}
		if hashes || noFaces {
			// Without faces to search, only the look's decode is needed.
			opts.Look, opts.LookOnly = look, noFaces
		}
		br, err := be.FacesBytesWith(ctx, data, opts)
		res.faces, res.turn, res.err = br.Faces, br.Turn, err
		return res
	}
	m, err := decodeCheck(ctx, data, imageutil.WithPixelBudget(budget))
	if err != nil {
		res.err = fmt.Errorf("exclusion: decoding image: %w", err)
		return res
	}
	if res.err = look(m.RGB); res.err != nil {
		return res
	}
	res.faces, res.turn, res.err = f.facesTurned(ctx, m.RGB)
	if k := m.Reduction; k > 1 {
		for i := range res.faces {
			res.faces[i].Box = image.Rectangle{Min: res.faces[i].Box.Min.Mul(k), Max: res.faces[i].Box.Max.Mul(k)}
			res.faces[i].Landmarks = nil
		}
	}
	return res
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
