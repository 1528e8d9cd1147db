package index

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// maxNodes bounds the number of nodes so that internal ids fit in uint32.
const maxNodes = math.MaxUint32 - 1

// maxLevel caps the layer a node may be drawn on.
const maxLevel = 15

// HNSWConfig configures an HNSW index. Get one from DefaultHNSWConfig.
//
// As in every Config of faceoptout, every zero field means
// DefaultHNSWConfig's value (Workers: GOMAXPROCS); Dim is required.
// NewHNSW fills the defaults in and validates the rest
// (ErrInvalidArgument).
type HNSWConfig struct {
	// Dim is the vector dimension (128 for dlib descriptors); required.
	Dim int
	// M is the number of neighbours a node keeps on layers above 0; layer 0
	// keeps M0 = 2*M (Malkov & Yashunin 2018). 0 means 24.
	M int
	// EfConstruction is the candidate-list size while inserting; 0 means
	// 200.
	EfConstruction int
	// EfSearch is the candidate-list size of Search (at least k is used) and
	// the size of the list that bounds exploration beyond the radius in
	// Within; 0 means 64.
	EfSearch int
	// RangeSlack is ε of Within: layer 0 keeps expanding every candidate
	// within r·(1+ε) whatever ef says, so the search stops on distance, not on
	// a fixed count. 0 means 0.2; SetSearch can set it to 0 on a built
	// graph.
	RangeSlack float32
	// Seed seeds the level generator; equal seeds and insertion orders give
	// equal graphs. 0 means 1.
	Seed uint64
	// Workers is how many goroutines WithinBatch and AddBatch use; 0 means
	// GOMAXPROCS.
	Workers int
}

// DefaultHNSWConfig returns the configuration BENCHMARKS.md measures for
// 128-D face descriptors (M 24, EfConstruction 200, EfSearch 64,
// RangeSlack 0.2, Seed 1); its radius recall and memory per vector are
// there, with the commands that measure them.
func DefaultHNSWConfig() HNSWConfig {
	return HNSWConfig{Dim: 128, M: 24, EfConstruction: 200, EfSearch: 64, RangeSlack: 0.2, Seed: 1}
}

// withDefaults returns c with its zero fields set to DefaultHNSWConfig's
// (Workers 0 stays: it means GOMAXPROCS when used).
func (c HNSWConfig) withDefaults() HNSWConfig {
	d := DefaultHNSWConfig()
	if c.M == 0 {
		c.M = d.M
	}
	if c.EfConstruction == 0 {
		c.EfConstruction = d.EfConstruction
	}
	if c.EfSearch == 0 {
		c.EfSearch = d.EfSearch
	}
	if c.RangeSlack == 0 {
		c.RangeSlack = d.RangeSlack
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	return c
}

func (c HNSWConfig) validate() error {
	switch {
	case c.Dim <= 0 || c.Dim > 1<<16:
		return fmt.Errorf("%w: Dim %d", ErrInvalidArgument, c.Dim)
	case c.M < 2 || c.M > 256:
		return fmt.Errorf("%w: M %d (want 2..256)", ErrInvalidArgument, c.M)
	case c.EfConstruction < 1 || c.EfConstruction > 1<<16:
		return fmt.Errorf("%w: EfConstruction %d", ErrInvalidArgument, c.EfConstruction)
	case c.EfSearch < 1 || c.EfSearch > 1<<16:
		return fmt.Errorf("%w: EfSearch %d", ErrInvalidArgument, c.EfSearch)
	case !(c.RangeSlack >= 0 && c.RangeSlack <= 10):
		return fmt.Errorf("%w: RangeSlack %v", ErrInvalidArgument, c.RangeSlack)
	case c.Workers < 0:
		return fmt.Errorf("%w: Workers %d", ErrInvalidArgument, c.Workers)
	}
	return nil
}

// HNSW is an approximate index: a hierarchical navigable small-world graph
// (Malkov & Yashunin 2018, algorithms 1-4 with the neighbour-selection
// heuristic). Deleted vectors become tombstones: never returned, still used
// to navigate. All methods are safe for concurrent use; writers exclude
// readers. AddBatch inserts on several goroutines at once, with a lock per
// neighbour list (striped), as hnswlib does.
type HNSW struct {
	cfg HNSWConfig
	m0  int
	ml  float64

	mu       sync.RWMutex // guards every field below
	vecs     []float32    // node i is vecs[i*dim:(i+1)*dim]
	ids      []ID         // node -> id
	node     map[ID]uint32
	dead     []uint64 // tombstone bitset by node
	levels   []uint8  // node -> top layer
	links0   []uint32 // node i: links0[i*(m0+1)] = count, then m0 slots
	upperOff []uint32 // node -> offset+1 into upper (0: no upper layers)
	upper    []uint32 // per node with level L>0: L blocks of (M+1): count, M slots
	entry    uint32
	top      int // layer of entry; -1 when empty
	live     int
	rng      *rand.Rand

	// locks is non-nil only while AddBatch connects nodes on several
	// goroutines (under h.mu's read lock, beside queries): stripe
	// n%lockStripes guards the neighbour lists of node n, and entryMu
	// guards entry and top. It is set and cleared under the write lock;
	// with locks nil, a writer holding h.mu needs nothing else.
	locks   []sync.Mutex
	entryMu sync.Mutex
	// batchMu serialises AddBatch and WriteFile, which may otherwise run
	// together under the read lock. Taken before mu.
	batchMu sync.Mutex

	scratch sync.Pool // *hnswScratch
}

// lockStripes is the number of neighbour-list locks of a parallel build;
// a power of two, so that n&(lockStripes-1) picks the stripe.
const lockStripes = 1 << 14

// hnswScratch is the per-query working memory, pooled so that a query does
// not allocate: a visited-generation array instead of a map, and the heaps.
type hnswScratch struct {
	visited  []uint16
	gen      uint16
	cands    minHeap
	res      maxHeap
	sorted   []cand
	layerSel [maxLevel + 1][]cand // connect's chosen neighbours per layer
	eps      []cand
	nb       []uint32  // copy of a neighbour list taken under its lock
	xs       []uint32  // expand's unvisited neighbours
	xd       []float32 // and their distances
	ovd      []float32 // addLink's distances
	selIDs   []uint32  // selectNeighbours' kept nodes
	ov       []cand    // addLink's overflow candidates
	ovSel    []cand
}

// NewHNSW returns an empty HNSW index.
func NewHNSW(cfg HNSWConfig) (*HNSW, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &HNSW{
		cfg:  cfg,
		m0:   2 * cfg.M,
		ml:   1 / math.Log(float64(cfg.M)),
		node: make(map[ID]uint32),
		top:  -1,
		rng:  rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}, nil
}

// Dim returns the vector dimension. Safe for concurrent use.
func (h *HNSW) Dim() int { return h.cfg.Dim }

// Exact reports false: an HNSW answer may miss neighbours. Safe for
// concurrent use.
func (h *HNSW) Exact() bool { return false }

// Config returns the configuration. Safe for concurrent use.
func (h *HNSW) Config() HNSWConfig { return h.cfg }

// Len returns the number of live (not deleted) vectors. Safe for concurrent use.
func (h *HNSW) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.live
}

// Nodes returns the number of graph nodes, tombstones included. Safe for
// concurrent use.
func (h *HNSW) Nodes() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.ids)
}

// Vector appends the stored vector of id to dst and reports whether id
// is live. Safe for concurrent use.
func (h *HNSW) Vector(id ID, dst []float32) ([]float32, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n, ok := h.node[id]
	if !ok {
		return dst, false
	}
	return append(dst, h.vec(n)...), true
}

// AppendRows appends every live id to ids and its vector to data, in node
// order (row i of the appended data, Dim numbers, belongs to the i-th
// appended id), under the read lock: a consistent copy of the live set.
// Safe for concurrent use.
func (h *HNSW) AppendRows(ids []ID, data []float32) ([]ID, []float32) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	ids, data = slices.Grow(ids, h.live), slices.Grow(data, h.live*h.cfg.Dim)
	for n, id := range h.ids {
		if !h.isDead(uint32(n)) {
			ids, data = append(ids, id), append(data, h.vec(uint32(n))...)
		}
	}
	return ids, data
}

func (h *HNSW) vec(n uint32) []float32 {
	d := h.cfg.Dim
	return h.vecs[int(n)*d : int(n+1)*d]
}

func (h *HNSW) isDead(n uint32) bool { return h.dead[n>>6]&(1<<(n&63)) != 0 }

// links returns node n's neighbour list on layer l (its count slot first).
func (h *HNSW) links(n uint32, l int) []uint32 {
	if l == 0 {
		s := h.links0[int(n)*(h.m0+1):]
		return s[1 : 1+s[0]]
	}
	off := int(h.upperOff[n]-1) + (l-1)*(h.cfg.M+1)
	s := h.upper[off:]
	return s[1 : 1+s[0]]
}

// linksOf returns node n's neighbour list on layer l for a search that may
// run beside a parallel build: a copy taken under the node's lock into
// sc.nb when one is running, the list itself otherwise.
func (h *HNSW) linksOf(n uint32, l int, sc *hnswScratch) []uint32 {
	if h.locks == nil {
		return h.links(n, l)
	}
	mu := &h.locks[n&(lockStripes-1)]
	mu.Lock()
	sc.nb = append(sc.nb[:0], h.links(n, l)...)
	mu.Unlock()
	return sc.nb
}

func (h *HNSW) lockNode(n uint32) {
	if h.locks != nil {
		h.locks[n&(lockStripes-1)].Lock()
	}
}

func (h *HNSW) unlockNode(n uint32) {
	if h.locks != nil {
		h.locks[n&(lockStripes-1)].Unlock()
	}
}

// setLinks replaces node n's neighbour list on layer l.
func (h *HNSW) setLinks(n uint32, l int, cs []cand) {
	var s []uint32
	if l == 0 {
		s = h.links0[int(n)*(h.m0+1) : int(n+1)*(h.m0+1)]
	} else {
		off := int(h.upperOff[n]-1) + (l-1)*(h.cfg.M+1)
		s = h.upper[off : off+h.cfg.M+1]
	}
	s[0] = uint32(len(cs))
	for i, c := range cs {
		s[1+i] = c.n
	}
}

func (h *HNSW) getScratch() *hnswScratch {
	sc, _ := h.scratch.Get().(*hnswScratch)
	if sc == nil {
		sc = &hnswScratch{}
	}
	if n := len(h.ids); len(sc.visited) < n {
		sc.visited = make([]uint16, n+n/4+64)
		sc.gen = 0
	}
	sc.gen++
	if sc.gen == 0 {
		clear(sc.visited)
		sc.gen = 1
	}
	return sc
}

func (sc *hnswScratch) nextGen() {
	sc.gen++
	if sc.gen == 0 {
		clear(sc.visited)
		sc.gen = 1
	}
}

// Add inserts a copy of v under id (algorithm 1). It fails with ErrDuplicate
// if id is live, ErrDim or ErrInvalidVector for a bad vector. Re-adding a
// deleted id creates a new node. Safe for concurrent use.
func (h *HNSW) Add(id ID, v []float32) error {
	if err := checkVector(v, h.cfg.Dim); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.node[id]; ok {
		return fmt.Errorf("%w: %d", ErrDuplicate, id)
	}
	if len(h.ids) >= maxNodes {
		return ErrFull
	}
	n := h.newNode(id, v, h.drawLevel())
	sc := h.getScratch()
	h.connect(n, int(h.levels[n]), sc)
	h.scratch.Put(sc)
	return nil
}

func (h *HNSW) drawLevel() int {
	return min(int(-math.Log(1-h.rng.Float64())*h.ml), maxLevel)
}

// AddBatch inserts copies of vs[i] under ids[i] for every i, connecting
// them on Workers goroutines (GOMAXPROCS when 0) with a lock per
// neighbour list, as hnswlib's parallel add does. The batch is checked
// first and refused whole (nothing inserted) if a vector is bad, the
// lengths differ, or an id is live or repeated. With more than one worker
// the graph depends on scheduling (equal seeds no longer give equal
// graphs); Workers = 1 gives the graph of calling Add in order.
//
// With more than one worker, queries run beside the build (Len counts the
// whole batch at once; a node of the batch is found once it is connected,
// every node by the time AddBatch returns); Add, Delete, SetSearch and
// WriteFile wait for the batch, and once one of them waits, new queries
// wait behind it (sync.RWMutex). With one worker the batch holds the
// write lock throughout. Safe for concurrent use.
func (h *HNSW) AddBatch(ids []ID, vs [][]float32) error { return h.addBatch(ids, vs, nil, nil) }

// errStopped means a build was stopped through its stop flag.
var errStopped = errors.New("index: build stopped")

// addBatch is AddBatch. A non-nil done counts the nodes connected so far;
// a non-nil stop, once set, ends the connecting early with errStopped and
// leaves the graph unusable (nodes stored but not connected): only a
// caller that discards h on errStopped sets it.
func (h *HNSW) addBatch(ids []ID, vs [][]float32, stop *atomic.Bool, done *atomic.Int64) error {
	stopped := func() bool { return stop != nil && stop.Load() }
	connected := func() {
		if done != nil {
			done.Add(1)
		}
	}
	if len(ids) != len(vs) {
		return fmt.Errorf("%w: %d ids for %d vectors", ErrInvalidArgument, len(ids), len(vs))
	}
	for _, v := range vs {
		if err := checkVector(v, h.cfg.Dim); err != nil {
			return err
		}
	}
	h.batchMu.Lock()
	defer h.batchMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.ids)+len(ids) > maxNodes {
		return ErrFull
	}
	seen := make(map[ID]struct{}, len(ids))
	for _, id := range ids {
		if _, ok := h.node[id]; ok {
			return fmt.Errorf("%w: %d", ErrDuplicate, id)
		}
		if _, ok := seen[id]; ok {
			return fmt.Errorf("%w: %d repeated in the batch", ErrDuplicate, id)
		}
		seen[id] = struct{}{}
	}
	seen = nil
	h.reserveLocked(len(ids))
	first := uint32(len(h.ids))
	for i, id := range ids {
		h.newNode(id, vs[i], h.drawLevel())
	}
	nw := h.cfg.Workers
	if nw == 0 {
		nw = runtime.GOMAXPROCS(0)
	}
	nw = max(1, min(nw, len(ids)/64))
	if nw == 1 {
		sc := h.getScratch()
		defer h.scratch.Put(sc)
		for i := range ids {
			if stopped() {
				return errStopped
			}
			n := first + uint32(i)
			h.connect(n, int(h.levels[n]), sc)
			connected()
		}
		return nil
	}
	// Nodes are connected in a random order: vectors that arrive together
	// (several photos of one person) would otherwise be inserted at the
	// same moment on different workers, none seeing the others, and end up
	// poorly linked to each other. Into a (nearly) empty graph the first
	// few are connected serially so that the workers start from a graph,
	// not from one entry point.
	order := make([]uint32, len(ids))
	for i := range order {
		order[i] = first + uint32(i)
	}
	h.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	start := min(len(ids), max(0, 1024-int(first)))
	sc := h.getScratch()
	for _, n := range order[:start] {
		if stopped() {
			h.scratch.Put(sc)
			return errStopped
		}
		h.connect(n, int(h.levels[n]), sc)
		connected()
	}
	h.scratch.Put(sc)
	// The workers run under the read lock, so queries go on beside them:
	// they read neighbour lists under the same stripe locks, and nodes of
	// the batch are found once connected. batchMu keeps other batches and
	// WriteFile out meanwhile; an Add slipping in between Unlock and RLock
	// just uses the locks too.
	h.locks = make([]sync.Mutex, lockStripes)
	h.mu.Unlock()
	h.mu.RLock()
	defer func() {
		h.mu.RUnlock()
		h.mu.Lock() // for the deferred Unlock, which leaves the build mode
		h.locks = nil
	}()
	var next atomic.Int64
	next.Store(int64(start))
	var wg sync.WaitGroup
	for range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := h.getScratch()
			defer h.scratch.Put(sc)
			for {
				i := next.Add(1) - 1
				if i >= int64(len(order)) || stopped() {
					return
				}
				n := order[i]
				h.connect(n, int(h.levels[n]), sc)
				connected()
			}
		}()
	}
	wg.Wait()
	if stopped() {
		return errStopped
	}
	return nil
}

// newNode appends the storage of a node; its links are empty.
func (h *HNSW) newNode(id ID, v []float32, l int) uint32 {
	n := uint32(len(h.ids))
	h.ids = append(h.ids, id)
	h.vecs = append(growHuge(h.vecs, len(v)), v...)
	h.levels = append(h.levels, uint8(l))
	h.links0 = append(growHuge(h.links0, h.m0+1), make([]uint32, h.m0+1)...)
	if int(n)>>6 >= len(h.dead) {
		h.dead = append(h.dead, 0)
	}
	if l > 0 {
		h.upperOff = append(h.upperOff, uint32(len(h.upper)+1))
		h.upper = append(h.upper, make([]uint32, l*(h.cfg.M+1))...)
	} else {
		h.upperOff = append(h.upperOff, 0)
	}
	h.node[id] = n
	h.live++
	return n
}

// connect links a freshly stored node n of level l into the graph. sc
// must be sized for every stored node. During a parallel build it reads
// the entry point under entryMu and, when n will become the new entry
// point, holds entryMu throughout, as hnswlib does.
func (h *HNSW) connect(n uint32, l int, sc *hnswScratch) {
	if h.locks != nil {
		h.entryMu.Lock()
		if l <= h.top {
			entry, top := h.entry, h.top
			h.entryMu.Unlock()
			h.connectFrom(n, l, entry, top, sc)
			return
		}
		defer h.entryMu.Unlock()
	}
	if h.top < 0 {
		h.entry, h.top = n, l
		return
	}
	h.connectFrom(n, l, h.entry, h.top, sc)
	if l > h.top {
		h.entry, h.top = n, l
	}
}

func (h *HNSW) connectFrom(n uint32, l int, entry uint32, top int, sc *hnswScratch) {
	q := h.vec(n)
	sc.nextGen()
	ep := cand{d: dist(q, h.vec(entry)), n: entry}
	for lc := top; lc > l; lc-- {
		ep = h.greedy(q, ep, lc, sc)
	}
	sc.eps = append(sc.eps[:0], ep)
	for lc := min(top, l); lc >= 0; lc-- {
		sc.nextGen()
		h.searchLayer(q, sc.eps, h.cfg.EfConstruction, lc, sc)
		// W sorted nearest first.
		sc.sorted = sc.sorted[:0]
		for len(sc.res) > 0 {
			sc.sorted = append(sc.sorted, sc.res.pop())
		}
		slices.Reverse(sc.sorted)
		sc.eps = append(sc.eps[:0], sc.sorted...)
		sc.layerSel[lc] = h.selectNeighbours(sc.sorted, h.cfg.M, sc.layerSel[lc][:0], sc)
	}
	// n's own lists are all written before any node links to n, so a
	// parallel insert that reaches n never finds it half connected (on a
	// layer whose list is still empty) nor has its link to n overwritten.
	h.lockNode(n)
	for lc := min(top, l); lc >= 0; lc-- {
		h.setLinks(n, lc, sc.layerSel[lc])
	}
	h.unlockNode(n)
	for lc := min(top, l); lc >= 0; lc-- {
		mmax := h.cfg.M
		if lc == 0 {
			mmax = h.m0
		}
		for _, e := range sc.layerSel[lc] {
			h.addLink(e.n, n, e.d, lc, mmax, sc)
		}
	}
}

// addLink adds n (at distance d) to e's list on layer l, shrinking the list
// with the heuristic when it overflows mmax.
func (h *HNSW) addLink(e, n uint32, d float32, l, mmax int, sc *hnswScratch) {
	h.lockNode(e)
	defer h.unlockNode(e)
	ls := h.links(e, l)
	if slices.Contains(ls, n) {
		return // a parallel insert may have linked them already
	}
	if len(ls) < mmax {
		if l == 0 {
			base := int(e) * (h.m0 + 1)
			h.links0[base+1+len(ls)] = n
			h.links0[base]++
		} else {
			off := int(h.upperOff[e]-1) + (l-1)*(h.cfg.M+1)
			h.upper[off+1+len(ls)] = n
			h.upper[off]++
		}
		return
	}
	ev := h.vec(e)
	if cap(sc.ovd) < len(ls) {
		sc.ovd = make([]float32, len(ls))
	}
	ovd := sc.ovd[:len(ls)]
	gather(ev, h.vecs, ls, ovd)
	cs := append(sc.ov[:0], cand{d: d, n: n})
	for i, x := range ls {
		cs = append(cs, cand{d: sqrt32(ovd[i]), n: x})
	}
	sortCands(cs)
	sc.ov = cs
	sc.ovSel = h.selectNeighbours(cs, mmax, sc.ovSel[:0], sc)
	h.setLinks(e, l, sc.ovSel)
}

func sortCands(cs []cand) {
	slices.SortFunc(cs, func(a, b cand) int {
		switch {
		case a.d < b.d:
			return -1
		case a.d > b.d:
			return 1
		case a.n < b.n:
			return -1
		case a.n > b.n:
			return 1
		}
		return 0
	})
}

// selectNeighbours is algorithm 4 (heuristic) without candidate extension:
// cs sorted nearest first; a candidate is kept when it is nearer to the base
// than to every neighbour kept so far.
func (h *HNSW) selectNeighbours(cs []cand, m int, dst []cand, sc *hnswScratch) []cand {
	dst = dst[:0]
	if len(cs) <= m {
		return append(dst, cs...)
	}
	kept := sc.selIDs[:0]
	var ds [8]float32
	for _, c := range cs {
		if len(dst) >= m {
			break
		}
		cv := h.vec(c.n)
		d2 := c.d * c.d
		good := true
		// Eight kept neighbours at a time: their rows are fetched
		// together, and most rejected candidates fail on the first ones.
		for i := 0; i < len(kept) && good; i += len(ds) {
			chunk := kept[i:min(i+len(ds), len(kept))]
			gather(cv, h.vecs, chunk, ds[:len(chunk)])
			for _, d := range ds[:len(chunk)] {
				if d < d2 {
					good = false
					break
				}
			}
		}
		if good {
			dst = append(dst, c)
			kept = append(kept, c.n)
		}
	}
	sc.selIDs = kept
	return dst
}

// greedy walks layer l from ep towards q, one nearest step at a time (ef=1).
func (h *HNSW) greedy(q []float32, ep cand, l int, sc *hnswScratch) cand {
	for changed := true; changed; {
		changed = false
		xs, xd := h.expand(q, ep.n, l, false, sc)
		for i, x := range xs {
			if d := xd[i]; d < ep.d {
				ep = cand{d: d, n: x}
				changed = true
			}
		}
	}
	return ep
}

// expand returns the neighbours of node n on layer l, with their distances
// to q, skipping (and then marking) visited ones when visit is set. The
// slices are scratch space, valid until the next call.
func (h *HNSW) expand(q []float32, n uint32, l int, visit bool, sc *hnswScratch) ([]uint32, []float32) {
	ls := h.linksOf(n, l, sc)
	xs := sc.xs[:0]
	if visit {
		for _, x := range ls {
			if sc.visited[x] != sc.gen {
				sc.visited[x] = sc.gen
				xs = append(xs, x)
			}
		}
	} else {
		xs = append(xs, ls...)
	}
	sc.xs = xs
	if cap(sc.xd) < len(xs) {
		sc.xd = make([]float32, len(xs), max(len(xs), 2*h.m0))
	}
	xd := sc.xd[:len(xs)]
	gather(q, h.vecs, xs, xd)
	for i, d := range xd {
		xd[i] = sqrt32(d)
	}
	return xs, xd
}

// searchLayer is algorithm 2: the ef nearest nodes to q on layer l reachable
// from eps, left in sc.res (a max-heap). Tombstones take part.
func (h *HNSW) searchLayer(q []float32, eps []cand, ef, l int, sc *hnswScratch) {
	sc.cands = sc.cands[:0]
	sc.res = sc.res[:0]
	for _, e := range eps {
		if sc.visited[e.n] == sc.gen {
			continue
		}
		sc.visited[e.n] = sc.gen
		sc.cands.push(e)
		sc.res.push(e)
	}
	for len(sc.res) > ef {
		sc.res.pop()
	}
	for len(sc.cands) > 0 {
		c := sc.cands.pop()
		if c.d > sc.res.top().d {
			break
		}
		xs, xd := h.expand(q, c.n, l, true, sc)
		for i, x := range xs {
			d := xd[i]
			if len(sc.res) < ef || d < sc.res.top().d {
				sc.cands.push(cand{d: d, n: x})
				sc.res.push(cand{d: d, n: x})
				if len(sc.res) > ef {
					sc.res.pop()
				}
			}
		}
	}
}

// descend runs the greedy search from the entry point down to layer 1 and
// returns the entry for layer 0.
func (h *HNSW) descend(q []float32, sc *hnswScratch) cand {
	var entry uint32
	var top int
	if h.locks != nil { // a parallel AddBatch may move the entry point
		h.entryMu.Lock()
		entry, top = h.entry, h.top
		h.entryMu.Unlock()
	} else {
		entry, top = h.entry, h.top
	}
	ep := cand{d: dist(q, h.vec(entry)), n: entry}
	for lc := top; lc > 0; lc-- {
		ep = h.greedy(q, ep, lc, sc)
	}
	return ep
}

// Delete marks id deleted and reports whether it was live. The node stays
// in the graph as a tombstone: never returned, still navigated through.
// Safe for concurrent use.
func (h *HNSW) Delete(id ID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, ok := h.node[id]
	if !ok {
		return false
	}
	delete(h.node, id)
	h.dead[n>>6] |= 1 << (n & 63)
	h.live--
	return true
}

// Search appends to dst[:0] up to k approximate nearest neighbours of q,
// nearest first, and returns it. It searches layer 0 with a candidate list
// of max(EfSearch, k). Safe for concurrent use.
func (h *HNSW) Search(q []float32, k int, dst []Result) ([]Result, error) {
	dst = dst[:0]
	if err := checkVector(q, h.cfg.Dim); err != nil {
		return dst, err
	}
	if k <= 0 {
		return dst, fmt.Errorf("%w: k %d", ErrInvalidArgument, k)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.live == 0 {
		return dst, nil
	}
	sc := h.getScratch()
	defer h.scratch.Put(sc)
	ep := h.descend(q, sc)
	sc.eps = append(sc.eps[:0], ep)
	h.searchLayer(q, sc.eps, max(h.cfg.EfSearch, k), 0, sc)
	for _, c := range sc.res {
		if !h.isDead(c.n) {
			dst = append(dst, Result{ID: h.ids[c.n], Distance: c.d})
		}
	}
	sortResults(dst)
	if len(dst) > k {
		dst = dst[:k]
	}
	return dst, nil
}

// Within appends to dst[:0] the vectors within distance r of q that the
// graph search reaches, nearest first, and returns it. Layer 0 is searched
// with a candidate list that keeps expanding every node within
// r·(1+RangeSlack) and, beyond that, until EfSearch candidates are
// exhausted; the search stops on distance, not on a count. Safe for
// concurrent use.
func (h *HNSW) Within(q []float32, r float32, dst []Result) ([]Result, error) {
	dst = dst[:0]
	if err := checkVector(q, h.cfg.Dim); err != nil {
		return dst, err
	}
	if err := checkRadius(r); err != nil {
		return dst, err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.live == 0 {
		return dst, nil
	}
	sc := h.getScratch()
	defer h.scratch.Put(sc)
	dst = h.within(q, r, h.cfg.EfSearch, sc, dst)
	sortResults(dst)
	return dst, nil
}

func (h *HNSW) within(q []float32, r float32, ef int, sc *hnswScratch, dst []Result) []Result {
	// Every node within bound is expanded. Beyond it, res holds the ef
	// nearest nodes seen outside the bound, and a node outside is expanded
	// only while it is among them: exploration goes ef nodes past the shell
	// of the radius, however many nodes lie inside it.
	bound := r * (1 + h.cfg.RangeSlack)
	rr := r * (1 + 1e-5) // gather's distances within this are re-checked with dist
	bound = max(bound, rr)
	ep := h.descend(q, sc)
	sc.cands = append(sc.cands[:0], ep)
	sc.res = sc.res[:0]
	if ep.d > bound {
		sc.res = append(sc.res, ep)
	}
	sc.visited[ep.n] = sc.gen
	if ep.d <= r && !h.isDead(ep.n) {
		dst = append(dst, Result{ID: h.ids[ep.n], Distance: ep.d})
	}
	for len(sc.cands) > 0 {
		c := sc.cands.pop()
		if c.d > bound && len(sc.res) >= ef && c.d > sc.res.top().d {
			break
		}
		xs, xd := h.expand(q, c.n, 0, true, sc)
		for i, x := range xs {
			d := xd[i]
			if d <= bound {
				sc.cands.push(cand{d: d, n: x})
				if d <= rr && !h.isDead(x) {
					// dist sums in another order than gather: decide
					// and report with dist, as the exact index does.
					if d := dist(q, h.vec(x)); d <= r {
						dst = append(dst, Result{ID: h.ids[x], Distance: d})
					}
				}
				continue
			}
			if len(sc.res) < ef || d < sc.res.top().d {
				sc.cands.push(cand{d: d, n: x})
				sc.res.push(cand{d: d, n: x})
				if len(sc.res) > ef {
					sc.res.pop()
				}
			}
		}
	}
	return dst
}

// WithinBatch answers Within(q, r) for every q of qs, spreading the queries
// over Workers goroutines; out[i] belongs to qs[i]. Safe for concurrent use.
func (h *HNSW) WithinBatch(qs [][]float32, r float32) ([][]Result, error) {
	for _, q := range qs {
		if err := checkVector(q, h.cfg.Dim); err != nil {
			return nil, err
		}
	}
	if err := checkRadius(r); err != nil {
		return nil, err
	}
	out := make([][]Result, len(qs))
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.live == 0 {
		return out, nil
	}
	nw := h.cfg.Workers
	if nw == 0 {
		nw = runtime.GOMAXPROCS(0)
	}
	nw = max(1, min(nw, len(qs)/8))
	var wg sync.WaitGroup
	for w := range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := h.getScratch()
			defer h.scratch.Put(sc)
			lo, hi := split(len(qs), nw, w)
			for i := lo; i < hi; i++ {
				sc.nextGen()
				out[i] = h.within(qs[i], r, h.cfg.EfSearch, sc, nil)
				sortResults(out[i])
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// SetSearch changes the query-time parameters EfSearch and RangeSlack
// (validated as in HNSWConfig) without rebuilding. Safe for concurrent use.
func (h *HNSW) SetSearch(ef int, slack float32) error {
	c := h.cfg
	c.EfSearch, c.RangeSlack = ef, slack
	if err := c.validate(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cfg = c
	return nil
}

// Reserve makes room for n more nodes so that a bulk load does not regrow
// its arrays. Safe for concurrent use.
func (h *HNSW) Reserve(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reserveLocked(n)
}

func (h *HNSW) reserveLocked(n int) {
	h.ids = slices.Grow(h.ids, n)
	h.vecs = growHuge(h.vecs, n*h.cfg.Dim)
	h.levels = slices.Grow(h.levels, n)
	h.links0 = growHuge(h.links0, n*(h.m0+1))
	h.upperOff = slices.Grow(h.upperOff, n)
	h.dead = slices.Grow(h.dead, n/64+1)
}
