package isolate

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/imageutil"
)

// The protocol: gob values on two pipes, the worker's file descriptors 3
// (requests, from the Pool) and 4 (replies, to the Pool). The worker first
// sends a hello; then, for each request (a gob header followed by its
// W*H*4 raw pixel bytes, or by its Encoded bytes of an image file), one
// reply. A request with Look set gets, before its reply, one reply whose
// Look holds the image to look at; the Pool answers it with a lookAnswer
// (go on or stop) before the worker searches any face.

type hello struct {
	Model embed.Model
	PID   int
}

type request struct {
	W, H     int // the W*H*4 bytes of opaque NRGBA pixels follow
	Deadline time.Time
	// Encoded, when not 0, replaces W and H: that many bytes of an
	// encoded image follow, which the worker decodes with imageutil
	// reduced to within MaxPixels.
	Encoded   int
	MaxPixels int64
	// With makes an Encoded request a FacesBytesWith: Turns are tried when
	// the upright scan finds no face, Look asks for the look image, and
	// LookOnly ends the request after it (BytesOptions.LookOnly).
	With     bool
	Turns    []embed.Turn
	Look     bool
	LookOnly bool
}

// lookImage is the image a worker sends for BytesOptions.Look: W*H opaque
// NRGBA pixels.
type lookImage struct {
	W, H int
	Pix  []byte
}

// lookAnswer is the Pool's answer to a lookImage.
type lookAnswer struct {
	Verdict int // lookGo or lookStop
}

const (
	lookGo   = 1
	lookStop = 2
)

type reply struct {
	Faces []embed.Face
	Err   string
	Kind  string // the sentinel Err wraps: a key of sentinels
	// Reduction is the factor an encoded image was reduced by before its
	// faces were searched (boxes are in full-size coordinates).
	Reduction float64
	// Turn, Scans, Size and Stats are a FacesBytesWith's BytesResult's.
	Turn  int
	Scans int
	Size  image.Point
	Stats embed.Stats
	// Look, when not nil, makes this reply no answer but the look image of
	// the request under way.
	Look *lookImage
}

// sentinels are the errors a reply can carry across the pipe, most specific
// first.
var sentinels = []struct {
	kind string
	err  error
}{
	{"too-many-faces", embed.ErrTooManyFaces},
	{"config", embed.ErrConfig},
	{"image", embed.ErrImage},
	{"no-face", embed.ErrNoFace},
	{"dlib", embed.ErrDlib},
	{"no-models", embed.ErrNoModels},
	{"closed", embed.ErrClosed},
	{"too-large", imageutil.ErrTooLarge},
	{"format", imageutil.ErrFormat},
	{"corrupt", imageutil.ErrCorrupt},
	{"deadline", context.DeadlineExceeded},
	{"canceled", context.Canceled},
}

func kindOf(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.kind
		}
	}
	return ""
}

func sentinelOf(kind string) error {
	for _, s := range sentinels {
		if s.kind == kind {
			return s.err
		}
	}
	return nil
}

// ServeInherited is [Serve] on the pipes a Pool gives its workers (file
// descriptors 3 and 4). A program calls it when it runs as a worker.
func ServeInherited(ctx context.Context, emb embed.Embedder) error {
	in, out := os.NewFile(3, "isolate-requests"), os.NewFile(4, "isolate-replies")
	if in == nil || out == nil {
		return fmt.Errorf("%w: file descriptors 3 and 4 are not open: not started by a Pool", ErrStart)
	}
	defer in.Close()
	defer out.Close()
	return Serve(ctx, in, out, emb)
}

// Serve answers a Pool's requests read from r with emb's faces written to
// w, until r ends (the Pool closed it: Serve returns nil) or ctx is done.
// A panic in emb becomes an error reply; a crash of native code in emb ends
// the process, which is what the Pool is there for.
func Serve(ctx context.Context, r io.Reader, w io.Writer, emb embed.Embedder) error {
	br := bufio.NewReaderSize(r, 1<<16) // gob reads its messages from br, the pixels follow
	enc, dec := gob.NewEncoder(w), gob.NewDecoder(br)
	if err := enc.Encode(hello{Model: emb.Model(), PID: os.Getpid()}); err != nil {
		return fmt.Errorf("isolate: hello: %w", err)
	}
	var pix []byte
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("isolate: reading a request: %w", err)
		}
		n := req.Encoded
		switch {
		case req.Encoded < 0 || req.Encoded > maxWorkerBytes:
			return fmt.Errorf("isolate: request for %d encoded bytes", req.Encoded)
		case req.Encoded > 0:
		case req.W <= 0 || req.H <= 0 || int64(req.W)*int64(req.H) > maxWorkerPixels:
			return fmt.Errorf("isolate: request for %dx%d pixels", req.W, req.H)
		default:
			n = 4 * req.W * req.H
		}
		if cap(pix) < n {
			pix = make([]byte, n)
		}
		if _, err := io.ReadFull(br, pix[:n]); err != nil {
			return fmt.Errorf("isolate: reading pixels: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		look := func(img image.Image) error { return sendLook(enc, dec, img) }
		rep := answer(ctx, emb, req, pix[:n], look)
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("isolate: writing a reply: %w", err)
		}
	}
}

// maxWorkerPixels bounds the pixels a worker accepts in one request, above
// any Config.MaxPixels; maxWorkerBytes the bytes of an encoded image, above
// imageutil's limit.
const (
	maxWorkerPixels = 1 << 30
	maxWorkerBytes  = 1 << 30
)

// errLookStopped is the error a worker's look returns when the Pool says
// stop: the Pool's own Look error replaces it.
var errLookStopped = errors.New("isolate: stopped by the look")

// sendLook sends img to the Pool as a look image and waits for its answer.
// The image crosses the pipe shrunk by embed.LookShrink (a box mean), as
// embed.Dlib's look at a JPEG is, so that a large PNG or WebP does not
// cross at its decoded size.
func sendLook(enc *gob.Encoder, dec *gob.Decoder, img image.Image) error {
	rgb := imageutil.Shrink(img, embed.LookShrink(img.Bounds().Size()))
	b := rgb.Bounds()
	if rgb.Stride != 4*b.Dx() {
		rgb = imageutil.ToRGB(rgb)
	}
	if err := enc.Encode(reply{Look: &lookImage{W: b.Dx(), H: b.Dy(), Pix: rgb.Pix[:4*b.Dx()*b.Dy()]}}); err != nil {
		return fmt.Errorf("isolate: sending the look image: %w", err)
	}
	var a lookAnswer
	if err := dec.Decode(&a); err != nil {
		return fmt.Errorf("isolate: reading the look answer: %w", err)
	}
	if a.Verdict != lookGo {
		return errLookStopped
	}
	return nil
}

func answer(ctx context.Context, emb embed.Embedder, req request, pix []byte, look func(image.Image) error) (rep reply) {
	defer func() {
		if p := recover(); p != nil {
			rep = reply{Err: fmt.Sprintf("isolate: embedder panic: %v", p)}
		}
	}()
	if !req.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, req.Deadline)
		defer cancel()
	}
	if req.Encoded > 0 && req.With {
		if !req.Look {
			look = nil
		}
		return answerWith(ctx, emb, req, pix, look)
	}
	if req.Encoded > 0 {
		return answerEncoded(ctx, emb, req, pix)
	}
	img := &image.NRGBA{Pix: pix, Stride: 4 * req.W, Rect: image.Rect(0, 0, req.W, req.H)}
	faces, err := emb.Faces(ctx, img)
	if err != nil {
		return reply{Err: err.Error(), Kind: kindOf(err)}
	}
	return reply{Faces: faces, Reduction: 1}
}

// answerEncoded decodes an encoded image with imageutil (default limits,
// reduced to within req.MaxPixels) and finds its faces; boxes of a reduced
// image are scaled back to full size and its landmarks dropped.
func answerEncoded(ctx context.Context, emb embed.Embedder, req request, data []byte) reply {
	m, err := imageutil.DecodeBytesContext(ctx, data, imageutil.WithPixelBudget(req.MaxPixels))
	if err != nil {
		return reply{Err: err.Error(), Kind: kindOf(err)}
	}
	faces, err := emb.Faces(ctx, m.RGB)
	if err != nil {
		return reply{Err: err.Error(), Kind: kindOf(err)}
	}
	if k := m.Reduction; k > 1 {
		for i := range faces {
			faces[i].Box = image.Rectangle{Min: faces[i].Box.Min.Mul(k), Max: faces[i].Box.Max.Mul(k)}
			faces[i].Landmarks = nil
		}
	}
	return reply{Faces: faces, Reduction: float64(m.Reduction)}
}
