//go:build !cgo

package embed

import (
	"context"
	"image"
)

// Dlib is dlib's face detector and ResNet descriptor. This build has no cgo
// (CGO_ENABLED=0), so there is no dlib: NewDlib validates its config and
// returns an error wrapping ErrNoCgo, and the methods of a Dlib, which
// cannot be obtained from NewDlib, return ErrNoCgo too. The types and the
// Embedder interface are the same in both builds.
type Dlib struct{ cfg DlibConfig }

var _ Embedder = (*Dlib)(nil)

// NewDlib returns an error wrapping ErrConfig for an invalid cfg, else one
// wrapping ErrNoCgo: this build has no dlib.
func NewDlib(cfg DlibConfig) (*Dlib, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return nil, ErrNoCgo
}

// Model returns the zero Model: this build has no dlib.
func (d *Dlib) Model() Model { return Model{} }

// Config returns the configuration.
func (d *Dlib) Config() DlibConfig { return d.cfg }

// Close does nothing and returns nil.
func (d *Dlib) Close() error { return nil }

// Faces returns ErrNoCgo.
func (d *Dlib) Faces(ctx context.Context, img image.Image) ([]Face, error) { return nil, ErrNoCgo }

// FacesWithStats returns ErrNoCgo.
func (d *Dlib) FacesWithStats(ctx context.Context, img image.Image) ([]Face, Stats, error) {
	return nil, Stats{}, ErrNoCgo
}

// FacesBytes returns ErrNoCgo.
func (d *Dlib) FacesBytes(ctx context.Context, data []byte) ([]Face, error) { return nil, ErrNoCgo }

// FacesBytesWithStats returns ErrNoCgo.
func (d *Dlib) FacesBytesWithStats(ctx context.Context, data []byte) ([]Face, Stats, error) {
	return nil, Stats{}, ErrNoCgo
}

// FacesBytesWith returns ErrNoCgo.
func (d *Dlib) FacesBytesWith(ctx context.Context, data []byte, opts BytesOptions) (BytesResult, error) {
	return BytesResult{}, ErrNoCgo
}
