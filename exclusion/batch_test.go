package exclusion_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// batchFixture returns a filter over a registry that blocks person 1, and
// items: person 1 (Block), person 2 (Allow), no image (Unchecked), in turn.
func batchFixture(t *testing.T, n int) (*exclusion.Filter, []exclusion.Item, []exclusion.Verdict) {
	t.Helper()
	emb := &exclusiontest.Embedder{}
	// The registry's own clock: newRegistry's test clock is not safe for
	// the concurrent checks of a batch.
	reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), emb, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	req := mustSubmit(t, reg, faceSubmission(photo(person(1))))
	mustApprove(t, reg, req.ID)
	f := newFilter(t, reg, emb)
	blocked, allowed := photo(at(person(1), 40, 30)), photo(at(person(2), 30, 40))
	var items []exclusion.Item
	var want []exclusion.Verdict
	for i := range n {
		it := exclusion.Item{Key: fmt.Sprint(i)}
		switch i % 3 {
		case 0:
			it.Image = blocked
			want = append(want, exclusion.Block)
		case 1:
			it.Image = allowed
			want = append(want, exclusion.Allow)
		default:
			want = append(want, exclusion.Unchecked)
		}
		items = append(items, it)
	}
	return f, items, want
}

func feed(items []exclusion.Item, taken *atomic.Int64) <-chan exclusion.Item {
	in := make(chan exclusion.Item)
	go func() {
		defer close(in)
		for _, it := range items {
			in <- it
			if taken != nil {
				taken.Add(1)
			}
		}
	}()
	return in
}

func TestCheckBatch(t *testing.T) {
	tests := []struct {
		name string
		n    int
		cfg  exclusion.BatchConfig
	}{
		{"defaults", 30, exclusion.BatchConfig{}},
		{"one worker", 10, exclusion.BatchConfig{Workers: 1}},
		{"many workers, one item in flight", 12, exclusion.BatchConfig{Workers: 8, MaxItems: 1}},
		{"tiny byte budget", 12, exclusion.BatchConfig{Workers: 3, MaxBytes: 1}},
		{"empty input", 0, exclusion.BatchConfig{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, items, want := batchFixture(t, tc.n)
			var got []exclusion.Result
			for r := range f.CheckBatch(ctx, feed(items, nil), tc.cfg) {
				got = append(got, r)
			}
			if len(got) != len(items) {
				t.Fatalf("%d results for %d items", len(got), len(items))
			}
			for i, r := range got {
				if r.Seq != i || r.Item.Key != items[i].Key {
					t.Fatalf("result %d is item %d (key %q): out of order", i, r.Seq, r.Item.Key)
				}
				if r.Decision.Verdict != want[i] {
					t.Errorf("item %d: verdict %v (err %v), want %v", i, r.Decision.Verdict, r.Decision.Err, want[i])
				}
				if want := f.Check(ctx, items[i]); want.Verdict != r.Decision.Verdict {
					t.Errorf("item %d: batch verdict %v, Check's %v", i, r.Decision.Verdict, want.Verdict)
				}
			}
		})
	}
}

// TestCheckBatchBudget checks the backpressure: with a caller that does
// not receive, CheckBatch takes no more items than its byte budget holds
// (plus the one waiting for room), and goes on when results are received.
func TestCheckBatchBudget(t *testing.T) {
	f, items, _ := batchFixture(t, 30)
	size := int64(len(items[0].Image))
	for i := range items {
		items[i].Image = items[0].Image // every item the same size
	}
	tests := []struct {
		name     string
		cfg      exclusion.BatchConfig
		maxTaken int64
	}{
		{"bytes", exclusion.BatchConfig{Workers: 4, MaxBytes: 3 * size}, 3 + 1},
		{"items", exclusion.BatchConfig{Workers: 4, MaxItems: 2}, 2 + 1},
		{"item larger than the budget", exclusion.BatchConfig{Workers: 4, MaxBytes: size / 2}, 1 + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var taken atomic.Int64
			out := f.CheckBatch(ctx, feed(items, &taken), tc.cfg)
			// Wait until CheckBatch stops taking items: the count is
			// stable over 200 ms.
			last := int64(-1)
			for taken.Load() != last {
				last = taken.Load()
				time.Sleep(200 * time.Millisecond)
			}
			if last != tc.maxTaken {
				t.Fatalf("%d items taken while none was received, want the budget's %d", last, tc.maxTaken)
			}
			n := 0
			for range out {
				n++
			}
			if n != len(items) {
				t.Fatalf("%d results after receiving, want %d", n, len(items))
			}
		})
	}
}

func TestCheckBatchCancel(t *testing.T) {
	f, items, _ := batchFixture(t, 60)
	c, cancel := context.WithCancel(ctx)
	in := make(chan exclusion.Item) // never closed: cancellation must end the batch
	go func() {
		for _, it := range items {
			select {
			case in <- it:
			case <-c.Done():
				return
			}
		}
	}()
	out := f.CheckBatch(c, in, exclusion.BatchConfig{Workers: 2})
	n := 0
	for r := range out {
		if r.Seq != n {
			t.Fatalf("result %d has Seq %d", n, r.Seq)
		}
		n++
		if n == 5 {
			cancel()
		}
		if n > 5 && r.Decision.Verdict != exclusion.Unchecked && r.Decision.Verdict != exclusion.Block {
			// Checks finished before the cancellation may still allow.
			if r.Decision.Err != nil {
				t.Errorf("result %d: %v with error %v", n, r.Decision.Verdict, r.Decision.Err)
			}
		}
	}
	if n >= len(items) {
		t.Fatalf("%d results: the batch did not stop on cancellation", n)
	}
	cancel()
}

func TestCheckBatchInvalidConfig(t *testing.T) {
	f, _, _ := batchFixture(t, 0)
	var got []exclusion.Result
	for r := range f.CheckBatch(ctx, make(chan exclusion.Item), exclusion.BatchConfig{Workers: -1}) {
		got = append(got, r)
	}
	if len(got) != 1 || got[0].Seq != -1 || got[0].Decision.Verdict != exclusion.Unchecked || !errors.Is(got[0].Decision.Err, exclusion.ErrUnchecked) {
		t.Fatalf("invalid config: results %+v, want one Unchecked with Seq -1", got)
	}
}
