//go:build cgo

package embed

import (
	"context"
	"image"

	"github.com/faceoptout/faceoptout/embed/internal/dlib"
)

// DescribeFunc describes the faces a Locator found in one image, as a
// LocateFunc does, and returns them with boxes and landmarks in the
// caller's coordinates (Scan.ToFull). It runs inside the worker.
type DescribeFunc func(ctx context.Context, s Scan, faces []Located) ([]Face, error)

// FacesBytesWith is Dlib.FacesBytesWith for an embedder built on the
// Locator: the same decoding, limits, look, pixel budget and turned scans
// (and so the same boxes), with the faces described by describe. It is
// safe for concurrent use.
func (l *Locator) FacesBytesWith(ctx context.Context, data []byte, opts BytesOptions, describe DescribeFunc) (BytesResult, error) {
	return facesBytesWith(ctx, l.d, locatorScanner{l: l, describe: describe}, data, opts)
}

// locatorScanner is the scanner of Locator.FacesBytesWith: the Locator's
// detection, the caller's describe.
type locatorScanner struct {
	l        *Locator
	describe DescribeFunc
}

func (s locatorScanner) scanJPEG(ctx context.Context, data []byte, hdr jpegHeader, maxPixels int64, st *Stats, look func(image.Image) error) ([]Face, error) {
	return s.l.d.jpegScan(ctx, data, hdr, maxPixels, st, look, func(wk *dlib.Worker, size, full image.Point) ([]Face, error) {
		faces := []Face{}
		err := s.l.locate(ctx, Scan{Worker: wk, Size: size, Full: full}, st, func(ctx context.Context, sc Scan, found []Located) error {
			var err error
			faces, err = s.describe(ctx, sc, found)
			return err
		})
		if err != nil {
			return nil, err
		}
		return faces, nil
	})
}

func (s locatorScanner) scanImage(ctx context.Context, img image.Image, cropRetry bool) ([]Face, Stats, error) {
	faces := []Face{}
	st, err := s.l.locateImage(ctx, img, func(ctx context.Context, sc Scan, found []Located) error {
		var err error
		faces, err = s.describe(ctx, sc, found)
		return err
	}, cropRetry)
	if err != nil {
		return nil, st, err
	}
	return faces, st, nil
}
