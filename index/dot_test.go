package index

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestDotU8 checks the AVX2 dot product of the shadow's row re-check
// against the portable one, on random and extreme codes.
func TestDotU8(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{32, 128, 160, 4096} {
		for _, fill := range []string{"random", "max", "min"} {
			t.Run(fmt.Sprintf("n=%d/%s", n, fill), func(t *testing.T) {
				q := make([]int8, n)
				row := make([]uint8, n)
				for i := range q {
					switch fill {
					case "random":
						q[i], row[i] = int8(rng.IntN(127)-63), uint8(rng.IntN(256))
					case "max":
						q[i], row[i] = 63, 255
					case "min":
						q[i], row[i] = -63, 255
					}
				}
				if got, want := dotU8AVX2(&q[0], &row[0], n), dotU8Go(q, row); got != want {
					t.Fatalf("dotU8AVX2 = %d, want %d", got, want)
				}
				if got, want := dotU8(q, row), dotU8Go(q, row); got != want {
					t.Fatalf("dotU8 = %d, want %d", got, want)
				}
			})
		}
	}
}
