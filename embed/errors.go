package embed

import (
	"errors"
	"fmt"
)

var (
	// ErrNoFace is returned by helpers that need exactly one face when an
	// image holds none. Faces itself returns an empty slice instead.
	ErrNoFace = errors.New("embed: no face found")
	// ErrNoModels means a model file is missing or unreadable; run
	// ./scripts/fetch-models.sh or set FACEOPTOUT_MODELS.
	ErrNoModels = errors.New("embed: dlib model files missing or unreadable (run ./scripts/fetch-models.sh or set FACEOPTOUT_MODELS)")
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("embed: embedder closed")
	// ErrDlib wraps a failure (a C++ exception) inside dlib.
	ErrDlib = errors.New("embed: dlib failed")
	// ErrImage means the image cannot be processed (empty, or too large).
	ErrImage = errors.New("embed: unusable image")
)

// ErrTooManyFaces means an image holds more faces than
// DlibConfig.MaxFaces; it wraps ErrImage.
var ErrTooManyFaces = fmt.Errorf("%w: too many faces", ErrImage)
