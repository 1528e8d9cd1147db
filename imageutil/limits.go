package imageutil

// Limits bound the work and memory of one decode. Both limits are checked
// before any pixel is allocated: MaxBytes while reading, MaxPixels against the
// dimensions the format's header declares.
type Limits struct {
	// MaxBytes is the largest accepted input, in bytes. At most MaxBytes+1
	// bytes are read from the reader.
	MaxBytes int64
	// MaxPixels is the largest accepted width*height (for GIF, the logical
	// screen). Peak memory of a decode is a small multiple of it: the
	// decoder's own image (1.5 to 8 bytes per pixel, 8 for 16-bit RGBA)
	// plus the 4-byte-per-pixel *image.NRGBA result.
	MaxPixels int64
}

// DefaultLimits returns the limits Decode uses unless told otherwise:
// 20 MiB of input and 40 megapixels (40,000,000 pixels).
func DefaultLimits() Limits {
	return Limits{MaxBytes: 20 << 20, MaxPixels: 40_000_000}
}

// withDefaults replaces every non-positive field by its default, so that a
// zero or partly set Limits never means "unlimited".
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	return l
}

// An Option adjusts one decode.
type Option func(*options)

type options struct {
	limits Limits
}

// WithLimits sets the limits of the decode. Fields that are zero or negative
// take their values from [DefaultLimits]: there is no way to disable a limit.
func WithLimits(l Limits) Option {
	return func(o *options) { o.limits = l.withDefaults() }
}

func newOptions(opts []Option) options {
	o := options{limits: DefaultLimits()}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}
