package imageutil

// Limits bound the work and memory of one decode. Every limit is checked
// before any pixel is allocated: MaxBytes while reading, MaxPixels and
// MaxMemory against what the format's header declares.
type Limits struct {
	// MaxBytes is the largest accepted input, in bytes. At most MaxBytes+1
	// bytes are read from the reader.
	MaxBytes int64
	// MaxPixels is the largest accepted width*height (for GIF, the logical
	// screen).
	MaxPixels int64
	// MaxMemory bounds the pixel memory a decode holds at once: the
	// decoder's own buffers (its image, a progressive JPEG's coefficients,
	// a TIFF's strips), estimated from the header as an upper bound, plus
	// the result unless the decoder's image is converted in place. A file
	// whose estimate exceeds it is refused with a *LimitError
	// (LimitMemory) before decoding; the same file may be accepted with a
	// pixel budget ([WithPixelBudget]), whose result is smaller.
	MaxMemory int64
	// MaxScans is the largest number of scans a JPEG may hold. A
	// progressive decoder visits every block of the image once per scan,
	// so a small file of many scans costs minutes of CPU; libjpeg writes
	// 10 scans at most for a colour image, 6 for a gray one.
	MaxScans int
}

// DefaultLimits returns the limits Decode uses unless told otherwise:
// 20 MiB of input, 40 megapixels (40,000,000 pixels), 256 MiB of pixel
// memory and 64 JPEG scans.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 20 << 20, MaxPixels: 40_000_000, MaxMemory: 256 << 20, MaxScans: 64}
}

// WithDefaults returns l with every zero or negative field replaced by
// DefaultLimits' value: a zero or partly set Limits never means
// "unlimited". Packages that keep Limits in their own Config (embed) fill
// them with it.
func (l Limits) WithDefaults() Limits { return l.withDefaults() }

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
	if l.MaxMemory <= 0 {
		l.MaxMemory = d.MaxMemory
	}
	if l.MaxScans <= 0 {
		l.MaxScans = d.MaxScans
	}
	return l
}

// An Option adjusts one decode.
type Option func(*options)

type options struct {
	limits Limits
	// budget is the largest result, in pixels; 0 means full size.
	budget int64
}

// WithLimits sets the limits of the decode. Fields that are zero or negative
// take their values from [DefaultLimits]: there is no way to disable a limit.
func WithLimits(l Limits) Option {
	return func(o *options) { o.limits = l.withDefaults() }
}

// WithPixelBudget asks for the image reduced to at most px pixels: the
// decoded image is shrunk by the smallest integer factor k (each result
// pixel the mean of a k x k block of source pixels, [Image.Reduction] = k)
// that brings the result within px, band by band, so that no full-size
// 8-bit copy is ever made. An image already within px is returned at full
// size (Reduction 1). px <= 0 means full size, as without the option.
func WithPixelBudget(px int64) Option {
	return func(o *options) { o.budget = max(px, 0) }
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
