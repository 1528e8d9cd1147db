package embed

import (
	"errors"
	"fmt"
)

var (
	// ErrNoFace is returned by helpers that need exactly one face when an
	// image holds none. Faces itself returns an empty slice instead.
	ErrNoFace = errors.New("embed: no face found")
	// ErrNoModels means a model file is missing from DlibConfig.ModelsDir
	// or unreadable; ./scripts/fetch-models.sh fetches them.
	ErrNoModels = errors.New("embed: dlib model files missing or unreadable (run ./scripts/fetch-models.sh and set DlibConfig.ModelsDir, the programs' --models or FACEOPTOUT_MODELS)")
	// ErrConfig is wrapped by the errors constructors return for an
	// invalid config; the message names the field.
	ErrConfig = errors.New("embed: invalid config")
	// ErrNoCgo means the package was built without cgo (CGO_ENABLED=0):
	// the types work, the dlib embedder does not.
	ErrNoCgo = errors.New("embed: built without cgo: the dlib embedder needs CGO_ENABLED=1 and the dlib libraries")
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
