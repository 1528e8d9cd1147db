//go:build !cgo

package isolate_test

import (
	"errors"

	"github.com/faceoptout/faceoptout/embed"
)

// dlibWorkerEmbedder is the "dlib" test worker's embedder: none without cgo.
func dlibWorkerEmbedder() (embed.Embedder, error) {
	return nil, errors.New("isolate test: no dlib without cgo")
}
