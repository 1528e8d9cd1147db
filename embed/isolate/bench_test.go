package isolate_test

import (
	"context"
	"fmt"
	"image"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// BenchmarkPool measures what isolation costs per image: an embedder that
// answers one fixed face without reading the pixels, called directly (the
// baseline) and through a one-worker Pool, at three image sizes. The
// difference is the pixels' trip through the pipe and gob, the worker's
// copy and the reply: what isolation adds to any embedder's own time.
//
//	go test -run '^$' -bench Pool -benchtime 20x ./embed/isolate/
func BenchmarkPool(b *testing.B) {
	cfg := testConfig("constant")
	cfg.Timeout = time.Minute
	p := newPool(b, cfg)
	for _, size := range []struct {
		name string
		w, h int
	}{{"0.3MP", 640, 480}, {"2MP", 1600, 1200}, {"12MP", 4000, 3000}} {
		img := exclusiontest.Image(size.w, size.h, exclusiontest.Face{Box: image.Rect(size.w/4, size.h/4, size.w/2, size.h/2), Color: exclusiontest.Person(3)})
		for _, e := range []struct {
			name string
			emb  embed.Embedder
		}{{"direct", &hooked{constant: true}}, {"pool", p}} {
			b.Run(fmt.Sprintf("%s/%s", size.name, e.name), func(b *testing.B) {
				b.SetBytes(int64(len(img.Pix)))
				for b.Loop() {
					faces, err := e.emb.Faces(context.Background(), img)
					if err != nil || len(faces) != 1 {
						b.Fatal(faces, err)
					}
				}
			})
		}
	}
}
