package index

import (
	"fmt"
	"sync"
)

// Mode chooses which index answers the queries of an Index.
type Mode int

const (
	// ModeAuto answers exactly (Flat) while the index holds at most
	// Config.ExactUpTo vectors, and switches to HNSW above that.
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

// Index answers exactly (Flat)
// up to Config.ExactUpTo vectors and with an HNSW graph above that (in
// ModeAuto), and reports through Exact which one answered. The switch is
// one-way: an Index that went to HNSW stays there when it shrinks. All
// methods are safe for concurrent use.
type Index struct {
	cfg Config

	mu   sync.RWMutex // guards flat and hnsw (which one is active), not their contents
	flat *Flat        // non-nil while answering exactly
	hnsw *HNSW        // non-nil once answering with the graph
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
func (x *Index) Config() Config { return x.cfg }

// active returns the index that answers now. Call with x.mu held.
func (x *Index) active() Searcher {
	if x.hnsw != nil {
		return x.hnsw
	}
	return x.flat
}

// Exact reports whether answers are exact now (every id within r is
// returned). Safe for concurrent use.
func (x *Index) Exact() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.hnsw == nil
}

// Dim returns the vector dimension. Safe for concurrent use.
func (x *Index) Dim() int { return x.cfg.Dim }

// Len returns the number of vectors. Safe for concurrent use.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.active().Len()
}

// Add stores v under id (see Flat.Add). In ModeAuto, the Add that takes the
// size above ExactUpTo builds the HNSW graph from every stored vector
// (HNSW.AddBatch, on all cores) before it returns; queries wait meanwhile.
// Safe for concurrent use.
func (x *Index) Add(id ID, v []float32) error {
	x.mu.RLock()
	a := x.active()
	err := a.Add(id, v)
	grow := err == nil && x.cfg.Mode == ModeAuto && x.hnsw == nil && a.Len() > x.cfg.ExactUpTo
	x.mu.RUnlock()
	if !grow {
		return err
	}
	return x.switchToHNSW()
}

// switchToHNSW builds the graph from the flat index and makes it active.
func (x *Index) switchToHNSW() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.hnsw != nil || x.flat.Len() <= x.cfg.ExactUpTo {
		return nil
	}
	h, err := NewHNSW(x.cfg.HNSW)
	if err != nil {
		return err
	}
	var ids []ID
	var vs [][]float32
	if err := x.flat.each(func(id ID, v []float32) error {
		ids, vs = append(ids, id), append(vs, v)
		return nil
	}); err != nil {
		return fmt.Errorf("index: building HNSW: %w", err)
	}
	if err := h.AddBatch(ids, vs); err != nil {
		return fmt.Errorf("index: building HNSW: %w", err)
	}
	x.hnsw, x.flat = h, nil
	return nil
}

// Delete removes id and reports whether it was present. Safe for concurrent use.
func (x *Index) Delete(id ID) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.active().Delete(id)
}

// Search returns the k nearest vectors to q (see Flat.Search, HNSW.Search).
// Safe for concurrent use.
func (x *Index) Search(q []float32, k int, dst []Result) ([]Result, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.active().Search(q, k, dst)
}

// Within returns every vector within r of q, nearest first; when Exact
// reports false some may be missing. Safe for concurrent use.
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
