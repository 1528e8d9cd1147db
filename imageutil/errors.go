package imageutil

import (
	"errors"
	"fmt"
)

// Sentinel errors returned (wrapped) by [Decode] and [DecodeBytes]. Test for
// them with [errors.Is]; every error of this package wraps exactly one of
// them, except I/O errors of the caller's reader, which are wrapped as they
// are.
var (
	// ErrTooLarge reports that the input exceeds a [Limits] field. The error
	// is a *[LimitError] that says which limit, the value and the limit.
	ErrTooLarge = errors.New("imageutil: image too large")
	// ErrFormat reports an unknown or unsupported image format: the content
	// matches no supported format, or it uses a feature the decoder does not
	// implement (for example a 4-component JPEG without Adobe metadata).
	ErrFormat = errors.New("imageutil: unknown or unsupported image format")
	// ErrCorrupt reports truncated or invalid image data, including a
	// decoder that panicked or returned pixels that disagree with its
	// header.
	ErrCorrupt = errors.New("imageutil: corrupt image")
)

// Names of the limits a [LimitError] reports.
const (
	LimitBytes  = "bytes"  // Limits.MaxBytes
	LimitPixels = "pixels" // Limits.MaxPixels
	LimitMemory = "memory" // Limits.MaxMemory
	LimitScans  = "scans"  // Limits.MaxScans
)

// LimitError reports an input beyond one of the [Limits]. It matches
// errors.Is(err, ErrTooLarge).
type LimitError struct {
	// Limit is LimitBytes, LimitPixels, LimitMemory or LimitScans.
	Limit string
	// Value is the measured value. For LimitBytes read from an io.Reader it
	// is Max+1: reading stops there, so the input holds at least that many.
	// For LimitMemory it is the estimate, in bytes, of the decode's pixel
	// memory; for LimitScans, Max+1 (counting stops there).
	Value int64
	// Max is the limit that Value exceeds.
	Max int64
	// Format is the sniffed format; empty for LimitBytes.
	Format string
	// Width and Height are the dimensions the header declares (LimitPixels
	// and LimitMemory).
	Width, Height int
}

// Error implements error.
func (e *LimitError) Error() string {
	switch e.Limit {
	case LimitPixels:
		return fmt.Sprintf("%v: %s declares %dx%d = %d pixels, limit %d",
			ErrTooLarge, e.Format, e.Width, e.Height, e.Value, e.Max)
	case LimitMemory:
		return fmt.Sprintf("%v: %s %dx%d needs about %d bytes of pixel memory, limit %d",
			ErrTooLarge, e.Format, e.Width, e.Height, e.Value, e.Max)
	case LimitScans:
		return fmt.Sprintf("%v: %s holds more than %d scans", ErrTooLarge, e.Format, e.Max)
	case LimitBytes:
		return fmt.Sprintf("%v: at least %d bytes, limit %d", ErrTooLarge, e.Value, e.Max)
	}
	return fmt.Sprintf("%v: %s %d, limit %d", ErrTooLarge, e.Limit, e.Value, e.Max)
}

// Unwrap returns ErrTooLarge.
func (e *LimitError) Unwrap() error { return ErrTooLarge }
