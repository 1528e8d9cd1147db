package index

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// smallIndex returns a ModeAuto Index of dim 16 that switches above
// upTo vectors, with hook installed, and random vectors to fill it.
func smallIndex(t *testing.T, upTo int, hook func(string) error) *Index {
	t.Helper()
	c := DefaultConfig()
	c.Dim, c.ExactUpTo = 16, upTo
	c.HNSW.EfConstruction = 64
	x, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	x.testHook = hook
	t.Cleanup(func() { _ = x.Close() })
	return x
}

func gaussVecs(seed uint64, n, dim int) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	vs := make([][]float32, n)
	for i := range vs {
		vs[i] = make([]float32, dim)
		for j := range vs[i] {
			vs[i][j] = float32(rng.NormFloat64())
		}
	}
	return vs
}

func waitBuild(t *testing.T, x *Index) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := x.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// found reports whether x holds v under id: Vector returns it, and Within
// at radius 0 finds it.
func found(t *testing.T, x *Index, id ID, v []float32) bool {
	t.Helper()
	got, ok := x.Vector(id, nil)
	if !ok {
		return false
	}
	if !slices.Equal(got, v) {
		t.Fatalf("Vector(%d) = %v, want %v", id, got, v)
	}
	res, err := x.Within(v, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(res, func(r Result) bool { return r.ID == id })
}

// gate is a build hook that stops the build at stage until released.
type gate struct {
	stage    string
	reached  chan struct{}
	release  chan struct{}
	err      error
	hookOnce sync.Once
}

func newGate(stage string) *gate {
	return &gate{stage: stage, reached: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) hook(stage string) error {
	if stage != g.stage {
		return nil
	}
	g.hookOnce.Do(func() { close(g.reached) })
	<-g.release
	return g.err
}

func TestIndexSwitchesInBackground(t *testing.T) {
	vs := gaussVecs(1, 600, 16)
	tests := []struct {
		name  string
		stage string // where the build waits while writes are made
	}{
		{"writes while the graph is built", "copied"},
		{"writes before the last replay", "built"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate(tc.stage)
			x := smallIndex(t, 200, g.hook)
			for i, v := range vs[:201] {
				if err := x.Add(ID(i), v); err != nil {
					t.Fatal(err)
				}
			}
			<-g.reached
			if s := x.Status(); !s.Building || !s.Exact || s.Kind != "flat" || s.BuildTotal != 201 {
				t.Fatalf("during the build: %+v", s)
			}
			// Adds, a batch and deletes while the graph is built: the Flat
			// answers them exactly at once.
			for i := 201; i < 400; i++ {
				if err := x.Add(ID(i), vs[i]); err != nil {
					t.Fatal(err)
				}
			}
			batch := slices.Concat(vs[400:600]...)
			ids := make([]ID, 200)
			for i := range ids {
				ids[i] = ID(400 + i)
			}
			if err := x.AdoptBatch(ids, batch); err != nil {
				t.Fatal(err)
			}
			deleted := map[ID]bool{}
			for i := 0; i < 600; i += 5 {
				if !x.Delete(ID(i)) {
					t.Fatalf("Delete(%d) = false", i)
				}
				deleted[ID(i)] = true
			}
			// One id deleted and added again with another vector.
			if err := x.Add(5, vs[6]); err != nil {
				t.Fatal(err)
			}
			delete(deleted, 5)
			if !x.Exact() || !found(t, x, 399, vs[399]) || found(t, x, 10, vs[10]) {
				t.Fatal("the Flat does not answer the writes made during the build")
			}
			close(g.release)
			waitBuild(t, x)
			s := x.Status()
			if s.Building || s.Exact || s.Kind != "hnsw" || s.Len != 600-len(deleted) || s.Err != "" {
				t.Fatalf("after the build: %+v", s)
			}
			for i, v := range vs {
				id := ID(i)
				if id == 5 {
					v = vs[6]
				}
				if got := found(t, x, id, v); got == deleted[id] {
					t.Errorf("id %d: found %v, deleted %v", id, got, deleted[id])
				}
			}
			ids, data := x.AppendRows(nil, nil)
			if len(ids) != s.Len || len(data) != s.Len*16 {
				t.Fatalf("AppendRows: %d ids, %d numbers", len(ids), len(data))
			}
		})
	}
}

func TestIndexBuildFailureKeepsFlat(t *testing.T) {
	g := newGate("built")
	g.err = errors.New("injected")
	x := smallIndex(t, 100, g.hook)
	vs := gaussVecs(2, 150, 16)
	for i, v := range vs {
		if err := x.Add(ID(i), v); err != nil {
			t.Fatal(err)
		}
	}
	close(g.release)
	if err := x.Wait(context.Background()); !errors.Is(err, g.err) {
		t.Fatalf("Wait: %v, want the build error", err)
	}
	s := x.Status()
	if !s.Exact || s.Building || s.Err == "" || s.Len != 150 {
		t.Fatalf("after a failed build: %+v", s)
	}
	// No other build starts; the Flat keeps answering.
	if err := x.Add(1000, gaussVecs(3, 1, 16)[0]); err != nil {
		t.Fatal(err)
	}
	if s := x.Status(); s.Building || !s.Exact || !found(t, x, 7, vs[7]) {
		t.Fatalf("after a failed build and an add: %+v", s)
	}
}

func TestIndexCloseStopsBuild(t *testing.T) {
	g := newGate("copied")
	x := smallIndex(t, 100, g.hook)
	for i, v := range gaussVecs(4, 101, 16) {
		if err := x.Add(ID(i), v); err != nil {
			t.Fatal(err)
		}
	}
	<-g.reached
	closed := make(chan error, 2)
	for range 2 { // idempotent, and safe when called concurrently
		go func() { closed <- x.Close() }()
	}
	close(g.release)
	for range 2 {
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
	}
	if s := x.Status(); s.Building || !s.Exact || s.Err != "" || s.Len != 101 {
		t.Fatalf("after Close: %+v", s)
	}
	if err := x.Add(500, gaussVecs(5, 1, 16)[0]); err != nil || !x.Exact() {
		t.Fatalf("Add after Close: %v, Exact %v", err, x.Exact())
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestIndexConcurrentBuild runs adds, deletes and queries on several
// goroutines while the graph builds and swaps in (under -race in make
// test), then checks that every vector added is found.
func TestIndexConcurrentBuild(t *testing.T) {
	x := smallIndex(t, 200, nil)
	vs := gaussVecs(6, 1000, 16)
	for i, v := range vs[:200] {
		if err := x.Add(ID(i), v); err != nil {
			t.Fatal(err)
		}
	}
	const writers = 4
	var wg sync.WaitGroup
	var mu sync.Mutex // guards deleted
	deleted := map[ID]bool{}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 200 + w; i < len(vs); i += writers {
				if err := x.Add(ID(i), vs[i]); err != nil {
					t.Error(err)
					return
				}
				if i%7 == 0 {
					if !x.Delete(ID(i % 200)) {
						t.Errorf("Delete(%d) = false", i%200)
					}
					mu.Lock()
					deleted[ID(i%200)] = true
					mu.Unlock()
				}
			}
		}()
	}
	stop := make(chan struct{})
	var qs sync.WaitGroup
	for q := range 2 {
		qs.Add(1)
		go func() {
			defer qs.Done()
			for i := q; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := x.Within(vs[i%200], 3, nil); err != nil {
					t.Error(err)
				}
				if _, err := x.Search(vs[i%200], 3, nil); err != nil {
					t.Error(err)
				}
				_ = x.Status()
			}
		}()
	}
	wg.Wait()
	waitBuild(t, x)
	close(stop)
	qs.Wait()
	if x.Exact() || x.Len() != len(vs)-len(deleted) {
		t.Fatalf("Exact %v Len %d, want false %d", x.Exact(), x.Len(), len(vs)-len(deleted))
	}
	for i, v := range vs {
		if got := found(t, x, ID(i), v); got == deleted[ID(i)] {
			t.Errorf("id %d: found %v, deleted %v", i, got, deleted[ID(i)])
		}
	}
}

func TestHNSWVectorAndRows(t *testing.T) {
	c := DefaultHNSWConfig()
	c.Dim = 16
	h, err := NewHNSW(c)
	if err != nil {
		t.Fatal(err)
	}
	vs := gaussVecs(8, 50, 16)
	for i, v := range vs {
		if err := h.Add(ID(i), v); err != nil {
			t.Fatal(err)
		}
	}
	h.Delete(3)
	if v, ok := h.Vector(4, nil); !ok || !slices.Equal(v, vs[4]) {
		t.Fatal("Vector(4) wrong")
	}
	if _, ok := h.Vector(3, nil); ok {
		t.Fatal("Vector of a deleted id")
	}
	ids, data := h.AppendRows(nil, nil)
	if len(ids) != 49 || len(data) != 49*16 {
		t.Fatalf("AppendRows: %d ids, %d numbers", len(ids), len(data))
	}
	for i, id := range ids {
		if id == 3 || !slices.Equal(data[i*16:(i+1)*16], vs[id]) {
			t.Fatalf("row %d: id %d", i, id)
		}
	}
}

func TestIndexSetSearch(t *testing.T) {
	x := smallIndex(t, 100, nil)
	if err := x.SetSearch(0, 0.1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("SetSearch(0, 0.1): %v", err)
	}
	if err := x.SetSearch(40, 0.1); err != nil { // before the graph exists
		t.Fatal(err)
	}
	for i, v := range gaussVecs(9, 150, 16) {
		if err := x.Add(ID(i), v); err != nil {
			t.Fatal(err)
		}
	}
	waitBuild(t, x)
	if err := x.SetSearch(50, 0.05); err != nil { // on the graph that answers
		t.Fatal(err)
	}
	x.mu.RLock()
	c := x.hnsw.Config()
	x.mu.RUnlock()
	if c.EfSearch != 50 || c.RangeSlack != 0.05 || x.Config().HNSW.EfSearch != 50 {
		t.Fatalf("graph search settings %d %v", c.EfSearch, c.RangeSlack)
	}
}
