package index_test

import (
	"testing"

	"github.com/faceoptout/faceoptout/index"
)

// TestNoAllocPerQuery checks that single queries reuse pooled scratch space
// and the caller's dst: no allocation on the hot path.
func TestNoAllocPerQuery(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	vs, qs := faces(t, 500, 4, 13)
	f := newFlat(t)
	h := newHNSW(t, func(c *index.HNSWConfig) { c.EfConstruction = 40 })
	fill(t, f, vs)
	fill(t, h, vs)
	for name, s := range map[string]index.Searcher{"flat": f, "hnsw": h} {
		t.Run(name, func(t *testing.T) {
			dst := make([]index.Result, 0, len(vs))
			for _, q := range qs { // warm the pools
				dst, _ = s.Within(q, 0.6, dst)
				dst, _ = s.Search(q, 5, dst)
			}
			i := 0
			allocs := testing.AllocsPerRun(50, func() {
				q := qs[i%len(qs)]
				i++
				dst, _ = s.Within(q, 0.6, dst)
				dst, _ = s.Search(q, 5, dst)
			})
			if allocs > 0 {
				t.Errorf("%.1f allocations per query", allocs)
			}
		})
	}
}
