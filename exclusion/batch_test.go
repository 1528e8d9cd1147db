package exclusion_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
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

// concurrentEmbedder counts the Faces calls under way and remembers the
// most at once.
type concurrentEmbedder struct {
	*exclusiontest.Embedder
	now, most atomic.Int64
}

func (e *concurrentEmbedder) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	n := e.now.Add(1)
	defer e.now.Add(-1)
	for {
		m := e.most.Load()
		if n <= m || e.most.CompareAndSwap(m, n) {
			break
		}
	}
	return e.Embedder.Faces(ctx, img)
}

// TestCheckBatchMemory checks that the checks under way stay within
// MaxMemory, counted with CheckMemory's estimates: the embedder never
// sees more images at once than the budget holds (one when an image's
// estimate alone passes it), and every item still gets its verdict.
func TestCheckBatchMemory(t *testing.T) {
	_, items, want := batchFixture(t, 24)
	one := exclusion.CheckMemory(items[0].Image)
	tests := []struct {
		name string
		cfg  exclusion.BatchConfig
		most int64
	}{
		{"one image's worth", exclusion.BatchConfig{Workers: 4, MaxMemory: one}, 1},
		{"two images' worth", exclusion.BatchConfig{Workers: 4, MaxMemory: 2*one + one/2}, 2},
		{"image larger than the budget", exclusion.BatchConfig{Workers: 4, MaxMemory: 1}, 1},
		{"default budget", exclusion.BatchConfig{Workers: 4}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			emb := &concurrentEmbedder{Embedder: &exclusiontest.Embedder{Delay: 2 * time.Millisecond}}
			reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), emb.Embedder, exclusion.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = reg.Close() })
			req := mustSubmit(t, reg, faceSubmission(photo(person(1))))
			mustApprove(t, reg, req.ID)
			f := newFilter(t, reg, emb)
			n := 0
			for r := range f.CheckBatch(ctx, feed(items, nil), tc.cfg) {
				if r.Seq != n || r.Decision.Verdict != want[n] {
					t.Fatalf("result %d: Seq %d, verdict %v (err %v), want %v", n, r.Seq, r.Decision.Verdict, r.Decision.Err, want[n])
				}
				n++
			}
			if n != len(items) {
				t.Fatalf("%d results for %d items", n, len(items))
			}
			t.Logf("at most %d images in the embedder at once", emb.most.Load())
			if got := emb.most.Load(); got > tc.most {
				t.Fatalf("%d images in the embedder at once, want at most %d", got, tc.most)
			}
		})
	}
}

func TestCheckMemory(t *testing.T) {
	small := photo(person(1))
	tests := []struct {
		name string
		data []byte
		want int64
	}{
		{"200x200 PNG", small, int64(len(small)) + 200*200*4 + 200*200*16},
		{"36 MP PNG header: the decoder's memory up to imageutil's bound, 8 MP scanned",
			pngHeader(6000, 6000), int64(len(pngHeader(6000, 6000))) + 6000*6000*4 + 8_000_000*16},
		{"36 MP JPEG header: 16 MP scanned", jpegHeader(6000, 6000), int64(len(jpegHeader(6000, 6000))) + 6000*6000*4 + 16_000_000*16},
		{"over imageutil's pixel limit: refused before decoding", pngHeader(8000, 6000), int64(len(pngHeader(8000, 6000)))},
		{"not an image", []byte("hello"), 5},
		{"empty", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := exclusion.CheckMemory(tc.data); got != tc.want {
				t.Fatalf("CheckMemory = %d, want %d", got, tc.want)
			}
		})
	}
}

// pngHeader returns a PNG signature and IHDR chunk declaring a w x h 8-bit
// RGB image (no pixel data).
func pngHeader(w, h int) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 2
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	_ = binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// jpegHeader returns the start of a baseline JFIF declaring a w x h
// three-component image: SOI, APP0, a quantisation table, SOF0 (enough for
// image.DecodeConfig; no pixel data).
func jpegHeader(w, h int) []byte {
	b := []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	dqt := append([]byte{0xff, 0xdb, 0x00, 0x43, 0x00}, bytes.Repeat([]byte{1}, 64)...)
	b = append(b, dqt...)
	sof := []byte{0xff, 0xc0, 0x00, 0x11, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0}
	return append(b, sof...)
}
