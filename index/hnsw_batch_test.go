package index_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/faceoptout/faceoptout/index"
)

func batchOf(vs [][]float32, from int) []index.ID {
	ids := make([]index.ID, len(vs))
	for i := range ids {
		ids[i] = index.ID(from + i)
	}
	return ids
}

// TestHNSWAddBatchRecall builds the same data with Add and with AddBatch on
// four workers and checks that the parallel graph keeps the recall of the
// serial one (measured against brute force) and survives deletes.
func TestHNSWAddBatchRecall(t *testing.T) {
	vs, qs := faces(t, 3000, 120, 13)
	mod := func(c *index.HNSWConfig) { c.EfConstruction = 64; c.Workers = 4 }
	serial := newHNSW(t, mod)
	fill(t, serial, vs)
	par := newHNSW(t, mod)
	// Two batches: the second joins a graph that already exists.
	if err := par.AddBatch(batchOf(vs[:1500], 0), vs[:1500]); err != nil {
		t.Fatal(err)
	}
	if err := par.AddBatch(batchOf(vs[1500:], 1500), vs[1500:]); err != nil {
		t.Fatal(err)
	}
	if par.Len() != len(vs) || par.Nodes() != len(vs) {
		t.Fatalf("Len %d Nodes %d, want %d", par.Len(), par.Nodes(), len(vs))
	}
	all := func(int) bool { return true }
	for _, r := range []float32{0.45, 0.6} {
		rs, rp := radiusRecall(t, serial, vs, qs, all, r), radiusRecall(t, par, vs, qs, all, r)
		t.Logf("r=%.2f: radius recall serial %.3f, AddBatch %.3f", r, rs, rp)
		if rp < 0.98 || rp < rs-0.02 {
			t.Errorf("r=%.2f: AddBatch radius recall %.3f (serial %.3f)", r, rp, rs)
		}
	}
	hits := 0
	for _, q := range qs {
		got, err := par.Search(q, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && got[0].ID == bruteKNN(vs, all, q) {
			hits++
		}
	}
	if rec := float64(hits) / float64(len(qs)); rec < 0.97 {
		t.Errorf("AddBatch recall@1 %.3f", rec)
	}
	// Every vector finds itself.
	for i := 0; i < len(vs); i += 37 {
		got, err := par.Search(vs[i], 1, nil)
		if err != nil || len(got) != 1 || got[0].Distance != 0 {
			t.Fatalf("Search(vs[%d]) = %v, %v", i, got, err)
		}
	}
}

func TestHNSWAddBatchRefusesWhole(t *testing.T) {
	vs, _ := faces(t, 300, 0, 14)
	tests := []struct {
		name string
		ids  []index.ID
		vs   [][]float32
		want error
	}{
		{"live id", []index.ID{200, 5}, vs[200:202], index.ErrDuplicate},
		{"repeated id", []index.ID{300, 301, 300}, vs[200:203], index.ErrDuplicate},
		{"bad vector", []index.ID{300, 301}, [][]float32{vs[200], vs[201][:5]}, index.ErrDim},
		{"lengths", []index.ID{300}, vs[200:202], index.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHNSW(t, func(c *index.HNSWConfig) { c.EfConstruction = 32 })
			if err := h.AddBatch(batchOf(vs[:100], 0), vs[:100]); err != nil {
				t.Fatal(err)
			}
			if err := h.AddBatch(tt.ids, tt.vs); !errors.Is(err, tt.want) {
				t.Fatalf("AddBatch = %v, want %v", err, tt.want)
			}
			if h.Len() != 100 || h.Nodes() != 100 {
				t.Fatalf("after a refused batch: Len %d Nodes %d, want 100", h.Len(), h.Nodes())
			}
		})
	}
}

// TestHNSWAddBatchConcurrent runs batches beside Add, Delete and queries
// (meant for the race detector).
func TestHNSWAddBatchConcurrent(t *testing.T) {
	vs, qs := faces(t, 2000, 20, 15)
	h := newHNSW(t, func(c *index.HNSWConfig) { c.EfConstruction = 32; c.Workers = 3 })
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for lo := 0; lo < 1800; lo += 600 {
			if err := h.AddBatch(batchOf(vs[lo:lo+600], lo), vs[lo:lo+600]); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 1800; i < len(vs); i++ {
			if err := h.Add(index.ID(i), vs[i]); err != nil {
				t.Error(err)
				return
			}
			if i%4 == 0 {
				h.Delete(index.ID(i))
			}
		}
	}()
	go func() {
		defer wg.Done()
		var dst []index.Result
		for i := 0; i < 200; i++ {
			var err error
			if dst, err = h.Within(qs[i%len(qs)], 0.6, dst); err != nil {
				t.Error(err)
				return
			}
			if i%40 == 0 {
				if _, err := h.WithinBatch(qs, 0.6); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	wg.Wait()
	if got, want := h.Len(), len(vs)-50; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
}
