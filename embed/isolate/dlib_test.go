//go:build cgo

package isolate_test

import (
	"bytes"
	"context"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// hangMarker, anywhere in an encoded image, makes the "dlib" test worker's
// decode hang.
var hangMarker = []byte("isolate-test: hang in decode")

// hangingDecoder is a real embed.Dlib whose FacesBytesWith never returns
// for an image holding hangMarker, deaf to ctx, as a decode stuck in
// native code.
type hangingDecoder struct {
	*embed.Dlib
}

func (h hangingDecoder) FacesBytesWith(ctx context.Context, data []byte, opts embed.BytesOptions) (embed.BytesResult, error) {
	if bytes.Contains(data, hangMarker) {
		time.Sleep(time.Hour)
	}
	return h.Dlib.FacesBytesWith(ctx, data, opts)
}

// newTestDlib returns a Dlib of the default configuration on the models
// testenv finds: the test worker's and the direct baseline's.
func newTestDlib(dir string) (*embed.Dlib, error) {
	cfg := embed.DefaultDlibConfig()
	cfg.ModelsDir = dir
	cfg.Workers = 1
	return embed.NewDlib(cfg)
}

// dlibWorkerEmbedder is the "dlib" test worker's embedder.
func dlibWorkerEmbedder() (embed.Embedder, error) {
	d, err := newTestDlib(testenv.ModelsDir())
	if err != nil {
		return nil, err
	}
	return hangingDecoder{d}, nil
}
