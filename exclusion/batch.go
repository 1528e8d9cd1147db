package exclusion

import (
	"context"
	"fmt"
	"runtime"
	"sync"
)

// BatchConfig bounds CheckBatch. The zero value takes the defaults of
// DefaultBatchConfig field by field.
type BatchConfig struct {
	// Workers is the number of items checked at once: decode, detection
	// and description of different images overlap. 0 means GOMAXPROCS+1
	// (one more than the cores, so that an image is decoded while the
	// embedder's workers run).
	Workers int
	// MaxBytes bounds the encoded image bytes (Item.Image) of the items in
	// flight: taken from the input and not yet delivered. CheckBatch stops
	// reading its input while the next item would pass the bound, so the
	// producer waits (backpressure); the item read and waiting for room
	// comes on top. An item larger than MaxBytes is taken alone, when
	// nothing else is in flight. 0 means 256 MiB. Decoded images are
	// bounded by Workers: each check holds one image decoded at the
	// scale detection needs.
	MaxBytes int64
	// MaxItems bounds the items in flight, whatever their size; 0 means
	// 4*Workers.
	MaxItems int
	// MaxMemory bounds the memory of the checks under way, as estimated
	// from each image's header before it is decoded (CheckMemory): an item
	// is handed to a worker only once its estimate fits beside those of
	// the checks still running, else CheckBatch waits (and stops reading
	// its input). An item whose estimate alone passes MaxMemory is checked
	// alone. 0 means 1 GiB.
	MaxMemory int64
}

// DefaultBatchConfig returns CheckBatch's defaults: GOMAXPROCS+1 workers,
// 256 MiB of image bytes, 4*Workers items in flight and 1 GiB of checks
// under way.
func DefaultBatchConfig() BatchConfig {
	w := runtime.GOMAXPROCS(0) + 1
	return BatchConfig{Workers: w, MaxBytes: 256 << 20, MaxItems: 4 * w, MaxMemory: 1 << 30}
}

// validate fills the zero fields with their defaults and rejects negative
// ones.
func (c *BatchConfig) validate() error {
	if c.Workers < 0 || c.MaxBytes < 0 || c.MaxItems < 0 || c.MaxMemory < 0 {
		return fmt.Errorf("exclusion: batch config %+v has a negative field", *c)
	}
	def := DefaultBatchConfig()
	if c.Workers == 0 {
		c.Workers = def.Workers
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = def.MaxBytes
	}
	if c.MaxItems == 0 {
		c.MaxItems = 4 * c.Workers
	}
	if c.MaxMemory == 0 {
		c.MaxMemory = def.MaxMemory
	}
	return nil
}

// Result is CheckBatch's answer for one item.
type Result struct {
	// Seq is the item's position in the input, from 0.
	Seq int
	// Item is the item as read from the input.
	Item Item
	// Decision is Check's decision on it.
	Decision Decision
}

// CheckBatch checks the items read from in, as Check does, and sends one
// Result per item on the returned channel, in input order, then closes it
// once in is closed and every result is delivered. It keeps cfg.Workers
// items in check at once, at most cfg.MaxBytes of image bytes and
// cfg.MaxItems items in flight, and checks under way within cfg.MaxMemory:
// it reads in only as fast as results are received and checks finish
// (backpressure). The caller must receive every result or cancel ctx.
//
// When ctx ends, no further item is read from in (in is not drained); the
// items already taken are delivered, Unchecked unless their check had
// finished, while the caller is ready to receive them; once one cannot be
// delivered at once, it and every later one are dropped (the results
// delivered stay a gap-free prefix of the input), and the channel is
// closed. An invalid cfg gives a closed
// channel after a single Unchecked Result (Seq -1) carrying the error.
// CheckBatch is safe for concurrent use.
func (f *Filter) CheckBatch(ctx context.Context, in <-chan Item, cfg BatchConfig) <-chan Result {
	if err := cfg.validate(); err != nil {
		out := make(chan Result, 1)
		out <- Result{Seq: -1, Decision: unchecked(fmt.Errorf("%w: %w", ErrUnchecked, err))}
		close(out)
		return out
	}
	b := &batch{f: f, cfg: cfg, out: make(chan Result), space: make(chan struct{}, 1)}
	order := make(chan chan Result, cfg.MaxItems)
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.slot <- Result{Seq: j.seq, Item: j.item, Decision: f.Check(ctx, j.item)}
				b.releaseMemory(j.mem)
			}
		}()
	}
	go b.take(ctx, in, order, jobs)
	go func() {
		b.deliver(ctx, order)
		wg.Wait()
		close(b.out)
	}()
	return b.out
}

// batch is one CheckBatch's state.
type batch struct {
	f   *Filter
	cfg BatchConfig
	out chan Result
	// space gets a token whenever bytes or items are released.
	space chan struct{}

	mu     sync.Mutex // guards bytes, items and memory
	bytes  int64      // image bytes in flight
	items  int        // items in flight
	memory int64      // estimated memory of the checks handed to workers and not finished
}

type job struct {
	seq  int
	item Item
	mem  int64 // the check's memory estimate, counted in batch.memory
	slot chan Result
}

// take reads items in order, waits for room in the budget, queues each
// item's result slot on order (in input order) and hands the item to a
// worker. It closes order and jobs when in is closed or ctx ends.
func (b *batch) take(ctx context.Context, in <-chan Item, order chan<- chan Result, jobs chan<- job) {
	defer close(jobs)
	defer close(order)
	for seq := 0; ; seq++ {
		var it Item
		var ok bool
		select {
		case it, ok = <-in:
		case <-ctx.Done():
			return
		}
		if !ok {
			return
		}
		n := int64(len(it.Image))
		var mem int64
		if it.Image != nil {
			mem = CheckMemory(it.Image)
		}
		if !b.reserve(ctx, n, mem) {
			// Cancelled while waiting: the item is answered Unchecked
			// without a check.
			slot := make(chan Result, 1)
			slot <- Result{Seq: seq, Item: it, Decision: unchecked(fmt.Errorf("%w: %w", ErrUnchecked, ctx.Err()))}
			b.mu.Lock()
			b.bytes += n
			b.items++
			b.mu.Unlock()
			order <- slot // order has room: reserve failed only on ctx
			return
		}
		slot := make(chan Result, 1)
		order <- slot // never blocks: reserve keeps items under MaxItems
		select {
		case jobs <- job{seq: seq, item: it, mem: mem, slot: slot}:
		case <-ctx.Done():
			slot <- Result{Seq: seq, Item: it, Decision: unchecked(fmt.Errorf("%w: %w", ErrUnchecked, ctx.Err()))}
			b.releaseMemory(mem)
			return
		}
	}
}

// reserve waits until n more bytes and one more item fit the budget (or
// nothing is in flight) and a check of estimated memory mem fits beside
// the checks under way (or none is), and counts them. It returns false if
// ctx ended first.
func (b *batch) reserve(ctx context.Context, n, mem int64) bool {
	for {
		b.mu.Lock()
		items := b.items == 0 || (b.bytes+n <= b.cfg.MaxBytes && b.items < b.cfg.MaxItems)
		memory := b.memory == 0 || b.memory+mem <= b.cfg.MaxMemory
		if items && memory {
			b.bytes += n
			b.items++
			b.memory += mem
			b.mu.Unlock()
			return true
		}
		b.mu.Unlock()
		select {
		case <-b.space:
		case <-ctx.Done():
			return false
		}
	}
}

// release gives back an item's bytes and wakes take.
func (b *batch) release(n int64) {
	b.mu.Lock()
	b.bytes -= n
	b.items--
	b.mu.Unlock()
	select {
	case b.space <- struct{}{}:
	default:
	}
}

// releaseMemory gives back a finished check's memory estimate and wakes
// take.
func (b *batch) releaseMemory(mem int64) {
	if mem == 0 {
		return
	}
	b.mu.Lock()
	b.memory -= mem
	b.mu.Unlock()
	select {
	case b.space <- struct{}{}:
	default:
	}
}

// deliver sends the results in input order and releases their budget.
// Once ctx ends and the caller stops receiving, it drops the rest.
func (b *batch) deliver(ctx context.Context, order <-chan chan Result) {
	dropping := false // set once a result is dropped: later ones are too, so no gap
	for slot := range order {
		r := <-slot
		n := int64(len(r.Item.Image))
		if !dropping {
			select {
			case b.out <- r:
			case <-ctx.Done():
				// The caller may have stopped receiving; try once more
				// without waiting, then drop this and every later result.
				select {
				case b.out <- r:
				default:
					dropping = true
				}
			}
		}
		b.release(n)
	}
}
