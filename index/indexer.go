package index

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Mode chooses which index answers the queries of an Index.
type Mode int

const (
	// ModeAuto answers exactly (Flat) while the index holds at most
	// Config.ExactUpTo vectors; above that it builds an HNSW graph in the
	// background, the Flat answering meanwhile, and switches to it.
	ModeAuto Mode = iota
	// ModeExact always answers exactly.
	ModeExact
	// ModeHNSW always answers with the HNSW graph.
	ModeHNSW
)

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeExact:
		return "exact"
	case ModeHNSW:
		return "hnsw"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Config configures an Index. Get one from DefaultConfig.
//
// As in every Config of faceoptout, every zero field means the default
// (ExactUpTo: DefaultExactUpTo, Mode: ModeAuto, and Flat's and HNSW's
// zero fields theirs); Dim is required. New fills the defaults in and validates the rest
// (ErrInvalidArgument).
type Config struct {
	// Dim is the vector dimension; it overrides Flat.Dim and HNSW.Dim.
	Dim int
	// Mode picks exact, HNSW, or a switch by size.
	Mode Mode
	// ExactUpTo is the largest size ModeAuto answers exactly; 0 means
	// DefaultExactUpTo.
	ExactUpTo int
	// Flat configures the exact index.
	Flat FlatConfig
	// HNSW configures the graph index.
	HNSW HNSWConfig
}

// DefaultExactUpTo keeps an Index exact up to 2^20 (about 1 M) vectors,
// where an exact range query is still fast enough to answer online; the
// latencies and the HNSW's recall at that size are in BENCHMARKS.md, with
// the commands that measure them.
const DefaultExactUpTo = 1 << 20

// DefaultConfig returns the configuration for 128-D dlib descriptors.
func DefaultConfig() Config {
	return Config{
		Dim:       128,
		Mode:      ModeAuto,
		ExactUpTo: DefaultExactUpTo,
		Flat:      DefaultFlatConfig(),
		HNSW:      DefaultHNSWConfig(),
	}
}

func (c *Config) normalize() error {
	if c.Mode < ModeAuto || c.Mode > ModeHNSW {
		return fmt.Errorf("%w: Mode %d", ErrInvalidArgument, c.Mode)
	}
	if c.ExactUpTo == 0 {
		c.ExactUpTo = DefaultExactUpTo
	}
	c.Flat, c.HNSW = c.Flat.withDefaults(), c.HNSW.withDefaults()
	if c.ExactUpTo < 0 {
		return fmt.Errorf("%w: ExactUpTo %d", ErrInvalidArgument, c.ExactUpTo)
	}
	c.Flat.Dim, c.HNSW.Dim = c.Dim, c.Dim
	if err := c.Flat.validate(); err != nil {
		return err
	}
	return c.HNSW.validate()
}

// Index answers exactly (Flat) up to Config.ExactUpTo vectors and with an
// HNSW graph above that (in ModeAuto), and reports through Exact and Status
// which one answers.
//
// The switch happens in the background: the Add (or AddBatch) that takes
// the size above ExactUpTo starts a goroutine that copies the rows (writers
// wait for that copy, queries do not) and builds the graph from the copy,
// while the Flat goes on answering every query exactly. Changes made
// during the build go to the Flat and are recorded; they are replayed onto
// the graph, the last ones under the write lock, just before the graph
// replaces the Flat. A build that fails leaves the Flat answering; Err and
// Status report why, and no other build starts. The switch is one-way: an
// Index that went to HNSW stays there when it shrinks.
//
// All methods are safe for concurrent use.
type Index struct {
	cfg Config

	mu     sync.RWMutex // guards flat, hnsw, build, err and closed, not the indexes' contents
	flat   *Flat        // non-nil while answering exactly
	hnsw   *HNSW        // non-nil once answering with the graph
	build  *build       // non-nil while a graph is built in the background
	err    error        // why the background build failed; nil if none did
	closed bool
	wg     sync.WaitGroup // the build goroutine

	// testHook, when set (by this package's tests, before any write), is
	// called by the build goroutine at its stages ("copied": the rows are
	// copied; "built": the graph is built, before the last replay); an
	// error fails the build.
	testHook func(stage string) error
}

// build is a background graph build.
type build struct {
	started time.Time
	total   atomic.Int64  // rows copied for the build
	done    atomic.Int64  // rows connected in the graph so far
	stop    atomic.Bool   // set by Close
	end     chan struct{} // closed when the build is over (swapped, failed or stopped)

	// logMu guards log and is held around every Flat write made during the
	// build, so that log is in the Flat's order.
	logMu sync.Mutex
	log   []change
}

// change is a write made to the Flat while the graph was built.
type change struct {
	id ID
	v  []float32 // nil: a delete
}

// New returns an empty Index.
func New(cfg Config) (*Index, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	x := &Index{cfg: cfg}
	var err error
	if cfg.Mode == ModeHNSW {
		x.hnsw, err = NewHNSW(cfg.HNSW)
	} else {
		x.flat, err = NewFlat(cfg.Flat)
	}
	if err != nil {
		return nil, err
	}
	return x, nil
}

// Config returns the configuration. Safe for concurrent use.
func (x *Index) Config() Config {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.cfg
}

// SetSearch changes the graph's query-time parameters EfSearch and
// RangeSlack (validated as in HNSWConfig): those of the graph that answers,
// or of the graph built later. Safe for concurrent use.
func (x *Index) SetSearch(ef int, slack float32) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	c := x.cfg.HNSW
	c.EfSearch, c.RangeSlack = ef, slack
	if err := c.validate(); err != nil {
		return err
	}
	x.cfg.HNSW.EfSearch, x.cfg.HNSW.RangeSlack = ef, slack
	if x.hnsw != nil {
		return x.hnsw.SetSearch(ef, slack)
	}
	return nil
}

// active returns the index that answers now. Call with x.mu held.
func (x *Index) active() Searcher {
	if x.hnsw != nil {
		return x.hnsw
	}
	return x.flat
}

// Exact reports whether answers are exact now (every id within r is
// returned): true until the graph replaces the Flat. Safe for concurrent
// use.
func (x *Index) Exact() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.hnsw == nil
}

// Status is what an Index reports about itself, for metrics and status
// endpoints.
type Status struct {
	// Kind is the index that answers: "flat" (exact) or "hnsw".
	Kind string `json:"kind"`
	// Exact reports that answers are exact (Kind "flat").
	Exact bool `json:"exact"`
	// Len is the number of vectors.
	Len int `json:"len"`
	// Building reports that a graph is being built in the background.
	Building bool `json:"building"`
	// BuildDone and BuildTotal are the rows connected in that graph so far
	// and the rows it started from (changes made meanwhile come on top).
	BuildDone  int `json:"build_done,omitempty"`
	BuildTotal int `json:"build_total,omitempty"`
	// BuildTime is how long the build has run.
	BuildTime time.Duration `json:"build_time_ns,omitempty"`
	// Err is why the background build failed, if it did.
	Err string `json:"err,omitempty"`
}

// Status reports which index answers, its size and the progress of a
// background build. Safe for concurrent use.
func (x *Index) Status() Status {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s := Status{Kind: "flat", Exact: x.hnsw == nil, Len: x.active().Len()}
	if x.hnsw != nil {
		s.Kind = "hnsw"
	}
	if b := x.build; b != nil {
		s.Building = true
		s.BuildDone, s.BuildTotal = int(b.done.Load()), int(b.total.Load())
		s.BuildTime = time.Since(b.started)
	}
	if x.err != nil {
		s.Err = x.err.Error()
	}
	return s
}

// Err returns why the background build failed (the Flat answers on), or
// nil. Safe for concurrent use.
func (x *Index) Err() error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.err
}

// Wait waits until no graph is being built in the background, or ctx
// ends (returning ctx's error), and returns Err. Safe for concurrent use.
func (x *Index) Wait(ctx context.Context) error {
	x.mu.RLock()
	b := x.build
	x.mu.RUnlock()
	if b != nil {
		select {
		case <-b.end:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return x.Err()
}

// Close stops a background build and waits for its goroutine; no build
// starts afterwards. The Index keeps answering (exactly, if the build had
// not finished). Close is idempotent and safe against calls in flight.
func (x *Index) Close() error {
	x.mu.Lock()
	x.closed = true
	b := x.build
	x.mu.Unlock()
	if b != nil {
		b.stop.Store(true)
	}
	x.wg.Wait()
	return nil
}

// Dim returns the vector dimension. Safe for concurrent use.
func (x *Index) Dim() int { return x.cfg.Dim }

// Len returns the number of vectors. Safe for concurrent use.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.active().Len()
}

// write runs a write on the active index; while a graph is built, the
// write goes to the Flat and, if it changed something, rec records it.
// It then starts a build if the size calls for one. Call without x.mu.
func (x *Index) write(fn func(a Searcher) (bool, error), rec func(b *build)) error {
	x.mu.RLock()
	var changed bool
	var err error
	if b := x.build; b != nil {
		b.logMu.Lock()
		changed, err = fn(x.flat)
		if changed {
			rec(b)
		}
		b.logMu.Unlock()
	} else {
		changed, err = fn(x.active())
	}
	grow := changed && x.needsBuild()
	x.mu.RUnlock()
	if grow {
		x.startBuild()
	}
	return err
}

// needsBuild reports whether a background build should start. Call with
// x.mu held.
func (x *Index) needsBuild() bool {
	return x.cfg.Mode == ModeAuto && x.hnsw == nil && x.build == nil && x.err == nil && !x.closed &&
		x.flat.Len() > x.cfg.ExactUpTo
}

// Add stores v under id (see Flat.Add, HNSW.Add). In ModeAuto, the Add
// that takes the size above ExactUpTo starts the background build of the
// graph and returns. Safe for concurrent use.
func (x *Index) Add(id ID, v []float32) error {
	return x.write(func(a Searcher) (bool, error) {
		err := a.Add(id, v)
		return err == nil, err
	}, func(b *build) {
		b.log = append(b.log, change{id: id, v: slices.Clone(v)})
	})
}

// AddBatch stores copies of the vectors in data (len(ids) rows of Dim
// numbers, contiguous) under ids: all of them or none (see Flat.AddBatch,
// HNSW.AddBatch). Safe for concurrent use.
func (x *Index) AddBatch(ids []ID, data []float32) error { return x.addBatch(ids, data, false) }

// AdoptBatch is AddBatch, except that an empty exact index keeps data
// itself as its storage (see Flat.AdoptBatch): the caller hands data over
// and must neither read nor change it afterwards. Safe for concurrent use.
func (x *Index) AdoptBatch(ids []ID, data []float32) error { return x.addBatch(ids, data, true) }

func (x *Index) addBatch(ids []ID, data []float32, adopt bool) error {
	dim := x.cfg.Dim
	return x.write(func(a Searcher) (bool, error) {
		var err error
		switch a := a.(type) {
		case *Flat:
			err = a.addBatch(ids, data, adopt)
		case *HNSW:
			if len(data) != len(ids)*dim {
				return false, fmt.Errorf("%w: %d numbers for %d vectors of %d", ErrDim, len(data), len(ids), dim)
			}
			err = a.AddBatch(ids, rows(data, dim))
		}
		return err == nil && len(ids) > 0, err
	}, func(b *build) {
		// The Flat may have adopted data: the log keeps its own copy.
		vs := rows(slices.Clone(data), dim)
		for i, id := range ids {
			b.log = append(b.log, change{id: id, v: vs[i]})
		}
	})
}

// rows slices data into rows of dim numbers (sharing its memory).
func rows(data []float32, dim int) [][]float32 {
	vs := make([][]float32, len(data)/dim)
	for i := range vs {
		vs[i] = data[i*dim : (i+1)*dim : (i+1)*dim]
	}
	return vs
}

// Delete removes id and reports whether it was present. Safe for concurrent use.
func (x *Index) Delete(id ID) bool {
	var ok bool
	_ = x.write(func(a Searcher) (bool, error) {
		ok = a.Delete(id)
		return ok, nil
	}, func(b *build) {
		b.log = append(b.log, change{id: id})
	})
	return ok
}

// Vector appends the stored vector of id to dst and reports whether id is
// present. Safe for concurrent use.
func (x *Index) Vector(id ID, dst []float32) ([]float32, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.hnsw != nil {
		return x.hnsw.Vector(id, dst)
	}
	return x.flat.Vector(id, dst)
}

// AppendRows appends every stored id to ids and its vector to data (row i
// of the appended data, Dim numbers, belongs to the i-th appended id), a
// consistent copy of the whole index (see Flat.AppendRows,
// HNSW.AppendRows). Safe for concurrent use.
func (x *Index) AppendRows(ids []ID, data []float32) ([]ID, []float32) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.hnsw != nil {
		return x.hnsw.AppendRows(ids, data)
	}
	return x.flat.AppendRows(ids, data)
}

// Search returns the k nearest vectors to q (see Flat.Search, HNSW.Search).
// Safe for concurrent use.
func (x *Index) Search(q []float32, k int, dst []Result) ([]Result, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.active().Search(q, k, dst)
}

// Within returns every vector within r of q, nearest first; when Exact
// reports false some may be missing (the distances are true ones either
// way). Safe for concurrent use.
func (x *Index) Within(q []float32, r float32, dst []Result) ([]Result, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.active().Within(q, r, dst)
}

// WithinBatch answers Within for many queries at once, cheaper per query
// than one call each. Safe for concurrent use.
func (x *Index) WithinBatch(qs [][]float32, r float32) ([][]Result, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.active().WithinBatch(qs, r)
}

// startBuild starts the background build if it is still needed.
func (x *Index) startBuild() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.needsBuild() {
		return
	}
	b := &build{started: time.Now(), end: make(chan struct{})}
	x.build = b
	x.wg.Add(1)
	go x.runBuild(b, x.flat, x.cfg.HNSW)
}

// replayBatch is the number of recorded changes below which the build
// stops replaying beside writers and replays the rest under the write
// lock.
const replayBatch = 256

// runBuild builds the graph from a copy of flat's rows, replays the
// changes recorded meanwhile and swaps the graph in; on failure it records
// the error and leaves the Flat answering.
func (x *Index) runBuild(b *build, flat *Flat, cfg HNSWConfig) {
	defer x.wg.Done()
	defer close(b.end)
	h, err := x.buildGraph(b, flat, cfg)
	x.mu.Lock()
	defer x.mu.Unlock()
	if err == nil && !b.stop.Load() {
		// No writer holds x.mu, so the log is complete.
		err = replay(h, b.log)
	}
	if err == nil && !b.stop.Load() { // SetSearch may have run meanwhile
		err = h.SetSearch(x.cfg.HNSW.EfSearch, x.cfg.HNSW.RangeSlack)
	}
	x.build = nil
	switch {
	case b.stop.Load():
	case err != nil:
		x.err = fmt.Errorf("index: building HNSW in the background: %w", err)
	default:
		x.hnsw, x.flat = h, nil
	}
}

// buildGraph builds the graph and replays changes beside writers until
// few are left.
func (x *Index) buildGraph(b *build, flat *Flat, cfg HNSWConfig) (*HNSW, error) {
	h, err := NewHNSW(cfg)
	if err != nil {
		return nil, err
	}
	b.logMu.Lock()
	ids, data := flat.AppendRows(nil, nil)
	b.log = nil // the copy holds what was recorded so far
	b.logMu.Unlock()
	b.total.Store(int64(len(ids)))
	if err := x.hook("copied"); err != nil {
		return nil, err
	}
	if err := h.addBatch(ids, rows(data, cfg.Dim), &b.stop, &b.done); err != nil {
		return nil, err
	}
	ids, data = nil, nil
	for !b.stop.Load() {
		b.logMu.Lock()
		log := b.log
		b.log = nil
		b.logMu.Unlock()
		if err := replay(h, log); err != nil {
			return nil, err
		}
		if len(log) < replayBatch {
			break
		}
	}
	if err := x.hook("built"); err != nil {
		return nil, err
	}
	return h, nil
}

func (x *Index) hook(stage string) error {
	if x.testHook == nil {
		return nil
	}
	return x.testHook(stage)
}

// replay applies recorded changes to h in order.
func replay(h *HNSW, log []change) error {
	for _, c := range log {
		if c.v == nil {
			h.Delete(c.id)
			continue
		}
		if err := h.Add(c.id, c.v); err != nil {
			return fmt.Errorf("replaying the add of %d: %w", c.id, err)
		}
	}
	return nil
}
