package index_test

import (
	"errors"
	"math"
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

// TestHNSWQueriesDuringAddBatch queries while a parallel batch is being
// connected: every answer must be right as far as it goes (each id within
// r at its true distance, nearest first), and complete once the batch is in.
func TestHNSWQueriesDuringAddBatch(t *testing.T) {
	vs, qs := faces(t, 4000, 30, 16)
	h := newHNSW(t, func(c *index.HNSWConfig) { c.EfConstruction = 48; c.Workers = 2 })
	if err := h.AddBatch(batchOf(vs[:500], 0), vs[:500]); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.AddBatch(batchOf(vs[500:], 500), vs[500:]) }()
	check := func(q []float32, got []index.Result) {
		t.Helper()
		for i, r := range got {
			if int(r.ID) >= len(vs) {
				t.Fatalf("unknown id %d", r.ID)
			}
			d := r.Distance - bruteDist(vs[r.ID], q)
			if r.Distance > 0.6 || d > 1e-4 || d < -1e-4 || (i > 0 && got[i-1].Distance > r.Distance) {
				t.Fatalf("result %d: %+v (true distance %v)", i, r, bruteDist(vs[r.ID], q))
			}
		}
	}
	during := 0
	var dst []index.Result
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
			during++
		}
		q := qs[during%len(qs)]
		var err error
		if dst, err = h.Within(q, 0.6, dst); err != nil {
			t.Fatal(err)
		}
		check(q, dst)
		if _, err := h.Search(q, 5, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d queries answered while the batch ran", during)
	all := func(int) bool { return true }
	if rec := radiusRecall(t, h, vs, qs, all, 0.6); rec < 0.95 {
		t.Errorf("radius recall after the batch %.3f", rec)
	}
}

func bruteDist(a, b []float32) float32 {
	s := 0.0
	for i := range a {
		d := float64(a[i] - b[i])
		s += d * d
	}
	return float32(math.Sqrt(s))
}
