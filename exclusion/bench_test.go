package exclusion_test

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// randomEmbedder finds one face per image with a fresh random unit
// descriptor: a registry of n distinct people without n distinct photos.
type randomEmbedder struct {
	mu  sync.Mutex // guards rng
	rng *rand.Rand
}

func randomUnit(rng *rand.Rand) embed.Descriptor {
	d := make(embed.Descriptor, embed.DlibDim)
	var n float64
	for i := range d {
		v := rng.NormFloat64()
		d[i] = float32(v)
		n += v * v
	}
	for i := range d {
		d[i] = float32(float64(d[i]) / math.Sqrt(n))
	}
	return d
}

func (e *randomEmbedder) Model() embed.Model { return exclusiontest.Model(embed.DlibDim) }

func (e *randomEmbedder) Faces(_ context.Context, img image.Image) ([]embed.Face, error) {
	e.mu.Lock()
	d := randomUnit(e.rng)
	e.mu.Unlock()
	return []embed.Face{{Box: img.Bounds(), Descriptor: d, Quality: embed.Quality{Size: 100, Sharpness: 100}}}, nil
}

// BenchmarkCheckFaces measures one CheckFaces call of a single face against
// registries of n approved faces (exact index, default policy).
func BenchmarkCheckFaces(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprint("approved=", n), func(b *testing.B) {
			emb := &randomEmbedder{rng: rand.New(rand.NewPCG(1, 2))}
			reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), emb, exclusion.DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			defer reg.Close()
			data := exclusiontest.PNG(exclusiontest.Image(100, 100))
			for range n {
				s := faceSubmission(data)
				r, err := reg.Submit(ctx, s, "bench")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := reg.Approve(ctx, r.ID, "bench", ""); err != nil {
					b.Fatal(err)
				}
			}
			f, err := exclusion.NewFilter(reg, emb, exclusion.DefaultFilterConfig())
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			probes := make([]embed.Descriptor, 1024)
			for i := range probes {
				probes[i] = randomUnit(rng)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if d := f.CheckFaces(ctx, probes[i%len(probes):i%len(probes)+1]); d.Verdict != exclusion.Allow {
					b.Fatal(d.Verdict)
				}
			}
		})
	}
}
