package imageutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"io"
	"math"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// Format names reported in [Image.Format] and in errors.
const (
	FormatJPEG = "jpeg"
	FormatPNG  = "png"
	FormatGIF  = "gif"
	FormatWebP = "webp"
	FormatBMP  = "bmp"
	FormatTIFF = "tiff"
)

// Image is a decoded image, ready for face detection and hashing.
type Image struct {
	// RGB holds the pixels: 8 bits per channel, orientation applied, fully
	// opaque (every alpha byte is 0xff; transparency was composited over
	// white), bounds starting at (0, 0).
	RGB *image.NRGBA
	// Format is the sniffed format: one of the Format constants.
	Format string
	// Orientation is the EXIF orientation (1 to 8) that was applied; 1 when
	// the file has none or an invalid one.
	Orientation int
	// SourceWidth and SourceHeight are the dimensions stored in the file,
	// before orientation (for GIF, the logical screen). At full size
	// (Reduction 1) and for orientations 5 to 8 they are RGB's height and
	// width.
	SourceWidth, SourceHeight int
	// Reduction is the integer factor by which RGB was shrunk to fit the
	// pixel budget of [WithPixelBudget]: each pixel of RGB is the mean of a
	// Reduction x Reduction block of the oriented source, so a point (x, y)
	// of RGB is (x*Reduction, y*Reduction) at full size. 1 means full size.
	Reduction int
}

// Bounds returns the bounds of the oriented image, m.RGB.Bounds().
func (m *Image) Bounds() image.Rectangle { return m.RGB.Bounds() }

// Decode reads one image from r and decodes it within the limits (by default
// [DefaultLimits]). The format is sniffed from the content: JPEG, PNG, GIF
// (first frame), WebP, BMP or TIFF. EXIF orientation is applied (JPEG, TIFF,
// WebP and PNG eXIf) and every colour model becomes an opaque 8-bit
// *image.NRGBA.
//
// Decode reads at most MaxBytes+1 bytes; it does not close r. Errors wrap
// ErrTooLarge (as a *LimitError), ErrFormat or ErrCorrupt; an error of r other
// than io.EOF is returned wrapped as is. Decode never panics on any input.
// It is safe for concurrent use.
func Decode(r io.Reader, opts ...Option) (*Image, error) {
	return DecodeContext(context.Background(), r, opts...)
}

// DecodeContext is [Decode] bounded by ctx as well as by the limits: it
// stops reading r, and decoding, soon after ctx is done and returns an error
// that wraps ctx.Err() (context.Canceled or context.DeadlineExceeded). PNG
// is decoded by imageutil's own decoder, which looks at ctx every few rows;
// the other formats' decoders read the input through a reader that looks
// at ctx on every read, so a decoder that has read all its input (a small
// lossless WebP whose pixels take seconds to expand) finishes that work
// before DecodeContext returns: callers that must answer at a deadline run
// it in a goroutine they can abandon, as exclusion's Filter does.
func DecodeContext(ctx context.Context, r io.Reader, opts ...Option) (*Image, error) {
	o := newOptions(opts)
	limit := o.limits.MaxBytes
	data, err := readAll(ctxReader{ctx, io.LimitReader(r, min(limit, math.MaxInt64-1)+1)}, sizeHint(r, limit))
	if err != nil {
		if e := ctx.Err(); e != nil {
			return nil, fmt.Errorf("imageutil: read: %w", e)
		}
		return nil, fmt.Errorf("imageutil: read: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, &LimitError{Limit: LimitBytes, Value: int64(len(data)), Max: limit}
	}
	return decode(ctx, data, o)
}

// DecodeBytes is [Decode] for input already in memory; data is not modified
// nor retained. It is safe for concurrent use.
func DecodeBytes(data []byte, opts ...Option) (*Image, error) {
	return DecodeBytesContext(context.Background(), data, opts...)
}

// DecodeBytesContext is [DecodeContext] for input already in memory.
func DecodeBytesContext(ctx context.Context, data []byte, opts ...Option) (*Image, error) {
	o := newOptions(opts)
	if n := int64(len(data)); n > o.limits.MaxBytes {
		return nil, &LimitError{Limit: LimitBytes, Value: n, Max: o.limits.MaxBytes}
	}
	return decode(ctx, data, o)
}

// ctxReader reads r until ctx is done, then returns ctx's error.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// sizeHint guesses how many bytes r holds, to read them with one allocation.
func sizeHint(r io.Reader, limit int64) int {
	v, ok := r.(interface{ Len() int }) // *bytes.Reader, *bytes.Buffer, *strings.Reader
	if !ok {
		return 0
	}
	return int(min(int64(v.Len()), limit, 1<<30) + 1)
}

// readAll is io.ReadAll with an initial capacity.
func readAll(r io.Reader, hint int) ([]byte, error) {
	b := make([]byte, 0, max(hint, 512))
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// codec is one supported format: its header and pixel decoders.
type codec struct {
	name   string
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var (
	codecJPEG = codec{FormatJPEG, jpeg.DecodeConfig, jpeg.Decode}
	codecPNG  = codec{name: FormatPNG} // decodePNG
	codecGIF  = codec{FormatGIF, gif.DecodeConfig, gif.Decode}
	codecWebP = codec{FormatWebP, webp.DecodeConfig, webp.Decode}
	codecBMP  = codec{FormatBMP, bmp.DecodeConfig, bmp.Decode}
	codecTIFF = codec{FormatTIFF, tiff.DecodeConfig, tiff.Decode}
)

// sniff picks the codec from the leading bytes; ok is false for anything
// else (BigTIFF included).
func sniff(b []byte) (c codec, ok bool) {
	switch {
	case len(b) >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff:
		return codecJPEG, true
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return codecPNG, true
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return codecGIF, true
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return codecWebP, true
	case bytes.HasPrefix(b, []byte("BM")):
		return codecBMP, true
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return codecTIFF, true
	}
	return codec{}, false
}

func decode(ctx context.Context, data []byte, o options) (*Image, error) {
	c, ok := sniff(data)
	if !ok {
		return nil, fmt.Errorf("%w: no known signature in the first bytes %q", ErrFormat, data[:min(len(data), 8)])
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("imageutil: %w", err)
	}
	if c.name == FormatPNG {
		return decodePNGImage(ctx, data, o)
	}
	return decodeWith(ctx, c, data, o)
}

// decodePNGImage decodes a PNG with decodePNG, applies its orientation and
// turns a panic into ErrCorrupt.
func decodePNGImage(ctx context.Context, data []byte, o options) (m *Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("%w: png: decoder panic: %v", ErrCorrupt, p)
		}
	}()
	rgb, hdr, k, err := decodePNG(ctx, data, o)
	if err != nil {
		if e := ctx.Err(); e != nil && errors.Is(err, e) {
			return nil, fmt.Errorf("imageutil: png: %w", e)
		}
		return nil, err
	}
	orient := orientation(FormatPNG, data)
	return &Image{
		RGB:          orientInPlace(rgb, orient),
		Format:       FormatPNG,
		Orientation:  orient,
		SourceWidth:  hdr.w,
		SourceHeight: hdr.h,
		Reduction:    k,
	}, nil
}

// decodeWith decodes data with codec c: header, limits, pixels, orientation
// and conversion, turning any panic into ErrCorrupt.
func decodeWith(ctx context.Context, c codec, data []byte, o options) (m *Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("%w: %s: decoder panic: %v", ErrCorrupt, c.name, p)
		}
	}()

	cfg, err := c.config(bytes.NewReader(data))
	if err != nil {
		return nil, classify(c.name, err)
	}
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w: %s: header declares %dx%d pixels", ErrCorrupt, c.name, w, h)
	}
	if px := int64(w) * int64(h); px > o.limits.MaxPixels {
		return nil, &LimitError{Limit: LimitPixels, Value: px, Max: o.limits.MaxPixels,
			Format: c.name, Width: w, Height: h}
	}
	if c.name == FormatJPEG {
		if n := jpegScans(data, o.limits.MaxScans); n > o.limits.MaxScans {
			return nil, &LimitError{Limit: LimitScans, Value: int64(n), Max: int64(o.limits.MaxScans),
				Format: c.name, Width: w, Height: h}
		}
	}
	k := reduction(w, h, o.budget)
	if mem := decodeMemory(c.name, cfg, data, k); mem > o.limits.MaxMemory {
		return nil, &LimitError{Limit: LimitMemory, Value: mem, Max: o.limits.MaxMemory,
			Format: c.name, Width: w, Height: h}
	}

	img, err := c.decode(ctxReader{ctx, bytes.NewReader(data)})
	if err != nil {
		if e := ctx.Err(); e != nil {
			return nil, fmt.Errorf("imageutil: %s: %w", c.name, e)
		}
		return nil, classify(c.name, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("imageutil: %s: %w", c.name, err)
	}
	// A decoder must return what its header declared (a GIF frame may be
	// smaller than the logical screen, never larger). Anything else means the
	// header lied and the pixel limit did not bound the decode.
	canvas := image.Rect(0, 0, w, h)
	b := img.Bounds()
	if b.Empty() || !b.In(canvas) || (c.name != FormatGIF && b != canvas) {
		return nil, fmt.Errorf("%w: %s: decoded bounds %v, header declares %v", ErrCorrupt, c.name, b, canvas)
	}

	orient := orientation(c.name, data)
	var rgb *image.NRGBA
	if k > 1 {
		rgb = orientInPlace(reduce(img, canvas, k), orient)
	} else if m, ok := convertInPlace(img, canvas); ok {
		rgb = orientInPlace(m, orient)
	} else {
		rgb = convert(img, canvas, orient)
	}
	return &Image{
		RGB:          rgb,
		Format:       c.name,
		Orientation:  orient,
		SourceWidth:  w,
		SourceHeight: h,
		Reduction:    k,
	}, nil
}

// classify wraps a decoder error with ErrFormat (a valid file using an
// unimplemented feature) or ErrCorrupt (anything else, truncation included).
func classify(format string, err error) error {
	var (
		ju jpeg.UnsupportedError
		tu tiff.UnsupportedError
	)
	if errors.As(err, &ju) || errors.As(err, &tu) || errors.Is(err, bmp.ErrUnsupported) {
		return fmt.Errorf("%w: %s: %w", ErrFormat, format, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrCorrupt, format, err)
}
