package exclusion_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// BenchmarkSealed measures what encryption at rest costs: opening a
// registry of 1000 approved face opt-outs (every record opened, every data
// key unwrapped) and one submission, with the operator key (sealed) and
// without (clear, the baseline). Each iteration runs both, one after the
// other, so that a load that changes during the run weighs on both alike;
// it reports each one's ms/op and their ratio.
func BenchmarkSealed(b *testing.B) {
	const n = 1000
	data := exclusiontest.PNG(exclusiontest.Image(100, 100))
	type side struct {
		st  keepOpen
		cfg exclusion.Config
		reg *exclusion.Registry
	}
	var sides [2]side // clear, sealed
	for i := range sides {
		emb := &randomEmbedder{rng: rand.New(rand.NewPCG(1, 2))}
		s := &sides[i]
		s.st = keepOpen{exclusiontest.NewMemStore()}
		s.cfg = exclusion.DefaultConfig()
		if i == 1 {
			s.cfg.Encryption = exclusion.EncryptionConfig{Key: testKey(1), Keyring: exclusiontest.NewKeyring()}
		}
		reg, err := exclusion.Create(ctx, s.st, emb, s.cfg)
		if err != nil {
			b.Fatal(err)
		}
		s.reg = reg
		for range n {
			r, err := reg.Submit(ctx, faceSubmission(data), "bench")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := reg.Approve(ctx, r.ID, "bench", ""); err != nil {
				b.Fatal(err)
			}
		}
	}
	report := func(b *testing.B, d [2]time.Duration) {
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
		b.ReportMetric(ms(d[0]), "clear-ms/op")
		b.ReportMetric(ms(d[1]), "sealed-ms/op")
		b.ReportMetric(float64(d[1])/float64(d[0]), "sealed/clear")
	}
	b.Run("open/approved=1000", func(b *testing.B) {
		var d [2]time.Duration
		for b.Loop() {
			for i := range sides {
				emb := &randomEmbedder{rng: rand.New(rand.NewPCG(1, 2))}
				t0 := time.Now()
				r, err := exclusion.Open(ctx, sides[i].st, emb, sides[i].cfg)
				d[i] += time.Since(t0)
				if err != nil || r.Len() != n {
					b.Fatal(err)
				}
			}
		}
		report(b, d)
	})
	b.Run("submit", func(b *testing.B) {
		var d [2]time.Duration
		for b.Loop() {
			for i := range sides {
				t0 := time.Now()
				_, err := sides[i].reg.Submit(ctx, faceSubmission(data), "bench")
				d[i] += time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		report(b, d)
	})
}
