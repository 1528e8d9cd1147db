package exclusion_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// BenchmarkSealed measures what encryption at rest costs: opening a
// registry of 1000 approved face opt-outs (every record opened, every data
// key unwrapped) and one submission, with the operator key ("sealed") and
// without ("clear", the baseline), on the in-memory store and keyring.
func BenchmarkSealed(b *testing.B) {
	const n = 1000
	data := exclusiontest.PNG(exclusiontest.Image(100, 100))
	for _, sealed := range []bool{false, true} {
		name := map[bool]string{false: "clear", true: "sealed"}[sealed]
		emb := &randomEmbedder{rng: rand.New(rand.NewPCG(1, 2))}
		st := keepOpen{exclusiontest.NewMemStore()}
		ring := exclusiontest.NewKeyring()
		cfg := exclusion.DefaultConfig()
		if sealed {
			cfg.Encryption = exclusion.EncryptionConfig{Key: testKey(1), Keyring: ring}
		}
		reg, err := exclusion.Create(ctx, st, emb, cfg)
		if err != nil {
			b.Fatal(err)
		}
		for range n {
			r, err := reg.Submit(ctx, faceSubmission(data), "bench")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := reg.Approve(ctx, r.ID, "bench", ""); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("open/approved=%d/%s", n, name), func(b *testing.B) {
			for b.Loop() {
				r, err := exclusion.Open(ctx, st, emb, cfg)
				if err != nil || r.Len() != n {
					b.Fatal(err)
				}
			}
		})
		b.Run("submit/"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := reg.Submit(ctx, faceSubmission(data), "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
