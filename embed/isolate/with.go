package isolate

// This file holds FacesBytesWith: the worker decodes, hands the look image
// back to the Pool, and scans upright then turned.

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/imageutil"
)

// bytesWithEmbedder is an embedder that decodes encoded images itself (as
// embed.Dlib does); a worker serving one hands it FacesBytesWith requests.
type bytesWithEmbedder interface {
	FacesBytesWith(ctx context.Context, data []byte, opts embed.BytesOptions) (embed.BytesResult, error)
}

// FacesBytesWith is [Pool.FacesBytes] with embed.Dlib's FacesBytesWith
// options: a look at the decoded image before any face is searched, and
// extra scans of the image turned when the upright scan finds none. The
// worker decodes and scans: with its embedder's own FacesBytesWith when it
// has one (embed.Dlib: libjpeg, DCT-scaled), else with imageutil reduced
// to within the pixel budget, then the embedder's Faces on the image and
// on a reduced copy turned by each of opts.Turns (mapped back to the
// upright image, without landmarks). The pixel budget is opts.MaxPixels,
// at most Config.MaxPixels (0 means Config.MaxPixels).
//
// opts.Look runs in the caller's process: the worker sends the image Look
// is to see (for embed.Dlib the one its FacesBytesWith hands to Look, a
// reduced copy for a JPEG), box-reduced to no less than embed.LookMinSide
// on its shorter side when larger, and waits for the answer before it
// searches any face. An error from Look (or a panic in it, as an error) ends the call
// with that error, and the worker stays. BytesResult.Stats are the
// worker's timings. The deadline (ctx's or Config.Timeout, whichever is earlier)
// covers the whole call, decode, look and scans: a worker still busy at it
// is killed (ErrTimeout with context.DeadlineExceeded); a worker that dies
// costs the call an error wrapping ErrCrashed. It is safe for concurrent
// use.
func (p *Pool) FacesBytesWith(ctx context.Context, data []byte, opts embed.BytesOptions) (embed.BytesResult, error) {
	var res embed.BytesResult
	for _, t := range opts.Turns {
		if t.Degrees != 90 && t.Degrees != 180 && t.Degrees != 270 {
			return res, fmt.Errorf("%w: turn of %d degrees", embed.ErrConfig, t.Degrees)
		}
		if r := t.Reduce; r != 0 && r != 1 && r != 2 && r != 4 && r != 8 {
			return res, fmt.Errorf("%w: turn reduced %d times", embed.ErrConfig, t.Reduce)
		}
	}
	if lim := imageutil.DefaultLimits().MaxBytes; int64(len(data)) > lim {
		return res, &imageutil.LimitError{Limit: imageutil.LimitBytes, Value: int64(len(data)), Max: lim}
	}
	if len(data) == 0 {
		return res, fmt.Errorf("%w: no bytes", imageutil.ErrFormat)
	}
	budget := p.cfg.MaxPixels
	if opts.MaxPixels > 0 && opts.MaxPixels < budget {
		budget = opts.MaxPixels
	}
	req := request{Encoded: len(data), MaxPixels: budget, With: true, Turns: opts.Turns, Look: opts.Look != nil, LookOnly: opts.LookOnly && opts.Look != nil}
	rep, err := p.call(ctx, req, data, opts.Look)
	if err != nil {
		return res, err
	}
	return embed.BytesResult{Faces: rep.Faces, Turn: rep.Turn, Scans: rep.Scans, Size: rep.Size, Reduction: rep.Reduction, Stats: rep.Stats}, nil
}

// checkLook validates a look image from a worker.
func checkLook(l *lookImage) error {
	if l.W <= 0 || l.H <= 0 || int64(l.W)*int64(l.H) > maxWorkerPixels || len(l.Pix) != 4*l.W*l.H {
		return fmt.Errorf("look image of %dx%d pixels in %d bytes", l.W, l.H, len(l.Pix))
	}
	return nil
}

// answerWith answers a FacesBytesWith request in the worker; look, when
// not nil, sends the look image to the Pool and waits for its answer.
func answerWith(ctx context.Context, emb embed.Embedder, req request, data []byte, look func(image.Image) error) reply {
	if be, ok := emb.(bytesWithEmbedder); ok {
		res, err := be.FacesBytesWith(ctx, data, embed.BytesOptions{Look: look, LookOnly: req.LookOnly, Turns: req.Turns, MaxPixels: req.MaxPixels})
		if err != nil {
			return reply{Err: err.Error(), Kind: kindOf(err)}
		}
		return reply{Faces: res.Faces, Turn: res.Turn, Scans: res.Scans, Size: res.Size, Reduction: res.Reduction, Stats: res.Stats}
	}
	m, err := imageutil.DecodeBytesContext(ctx, data, imageutil.WithPixelBudget(req.MaxPixels))
	if err != nil {
		return reply{Err: err.Error(), Kind: kindOf(err)}
	}
	k := max(m.Reduction, 1)
	rep := reply{Size: m.RGB.Bounds().Size().Mul(k), Reduction: float64(k)}
	if look != nil {
		if err := look(m.RGB); err != nil {
			return reply{Err: err.Error(), Kind: kindOf(err)}
		}
		if req.LookOnly {
			return rep
		}
	}
	faces, turn, scans, err := embed.FacesTurned(ctx, emb, m.RGB, req.Turns)
	rep.Scans = scans
	if err != nil {
		return reply{Err: err.Error(), Kind: kindOf(err)}
	}
	scaleBoxes(faces, float64(k), float64(k))
	rep.Faces, rep.Turn = faces, turn
	return rep
}

// scaleBoxes multiplies the boxes of faces by fx, fy; scaled faces lose
// their landmarks.
func scaleBoxes(faces []embed.Face, fx, fy float64) {
	if fx == 1 && fy == 1 {
		return
	}
	up := func(p image.Point) image.Point {
		return image.Pt(int(math.Round(float64(p.X)*fx)), int(math.Round(float64(p.Y)*fy)))
	}
	for i := range faces {
		f := &faces[i]
		f.Box = image.Rectangle{Min: up(f.Box.Min), Max: up(f.Box.Max)}
		f.Landmarks = nil
		f.Quality.Size = max(f.Box.Dx(), f.Box.Dy())
	}
}
