package index

import (
	"encoding/binary"
	"fmt"
	mathbits "math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// FlatConfig configures a Flat index. Get one from DefaultFlatConfig.
//
// As in every Config of faceoptout, every zero field means the default
// (Workers: GOMAXPROCS); Dim is required. NewFlat
// fills the defaults in and validates the rest (ErrInvalidArgument).
type FlatConfig struct {
	// Dim is the vector dimension (128 for dlib descriptors); required.
	Dim int
	// Workers is how many goroutines a large scan uses; 0 means GOMAXPROCS.
	Workers int
	// ParallelMin is the number of vectors from which a scan is split
	// across Workers goroutines; 0 means 1<<15.
	ParallelMin int
	// BlockRows is how many vectors one cache-resident block of a batched
	// scan holds; every query of a batch is compared with a block before the
	// scan moves on. 0 means 512.
	BlockRows int
}

// DefaultFlatConfig returns the configuration for 128-D dlib descriptors.
func DefaultFlatConfig() FlatConfig {
	return FlatConfig{Dim: 128, ParallelMin: 1 << 15, BlockRows: 512}
}

// withDefaults returns c with its zero counts and sizes set to
// DefaultFlatConfig's (Workers 0 stays: it means GOMAXPROCS when used).
func (c FlatConfig) withDefaults() FlatConfig {
	d := DefaultFlatConfig()
	if c.ParallelMin == 0 {
		c.ParallelMin = d.ParallelMin
	}
	if c.BlockRows == 0 {
		c.BlockRows = d.BlockRows
	}
	return c
}

func (c FlatConfig) validate() error {
	switch {
	case c.Dim <= 0 || c.Dim > 1<<16:
		return fmt.Errorf("%w: Dim %d", ErrInvalidArgument, c.Dim)
	case c.Workers < 0:
		return fmt.Errorf("%w: Workers %d", ErrInvalidArgument, c.Workers)
	case c.ParallelMin < 0:
		return fmt.Errorf("%w: ParallelMin %d", ErrInvalidArgument, c.ParallelMin)
	case c.BlockRows <= 0:
		return fmt.Errorf("%w: BlockRows %d", ErrInvalidArgument, c.BlockRows)
	}
	return nil
}

// Flat is the exact index: vectors in one contiguous float32 slice, every
// query compared with every vector. Its answers are exact by construction.
// All methods are safe for concurrent use; writers exclude readers.
//
// Range queries (Within, WithinBatch) first scan an int8 shadow of the rows
// (quant.go) that proves most rows out of range, and compute the float32
// distance only for the others; the answer is the same as a float32 scan's.
type Flat struct {
	cfg FlatConfig

	mu   sync.RWMutex // guards data, ids, pos and sh
	data []float32    // row i is data[i*dim:(i+1)*dim]
	ids  []ID         // ids[i] is the id of row i
	pos  map[ID]int   // id -> row
	sh   shadow       // int8 copy of data; fresh when sh.rows == len(ids)

	heaps   sync.Pool // *[]maxHeap: per-worker top-k scratch
	scratch sync.Pool // *probeScratch: per-query shadow scratch

	scan32 atomic.Bool // range queries scan float32 only (the baseline)
	// rechecked and scanned count rows re-checked in float32 and rows
	// scanned by range queries through the shadow (for benchmarks).
	rechecked, scanned atomic.Uint64
}

// NewFlat returns an empty exact index.
func NewFlat(cfg FlatConfig) (*Flat, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Flat{cfg: cfg, pos: make(map[ID]int), sh: newShadow(cfg.Dim)}, nil
}

// Dim returns the vector dimension. Safe for concurrent use.
func (f *Flat) Dim() int { return f.cfg.Dim }

// Exact reports true: a Flat index never misses. Safe for concurrent use.
func (f *Flat) Exact() bool { return true }

// Len returns the number of vectors. Safe for concurrent use.
func (f *Flat) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.ids)
}

// Add stores a copy of v under id. It fails with ErrDuplicate if id is
// present, ErrDim or ErrInvalidVector for a bad vector. Safe for concurrent use.
func (f *Flat) Add(id ID, v []float32) error {
	if err := checkVector(v, f.cfg.Dim); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.pos[id]; ok {
		return fmt.Errorf("%w: %d", ErrDuplicate, id)
	}
	if len(f.ids) >= maxNodes {
		return ErrFull
	}
	fresh := f.fresh()
	f.pos[id] = len(f.ids)
	f.ids = append(f.ids, id)
	f.data = append(f.data, v...)
	if fresh && f.sh.usable() {
		f.sh.add(v, f.data)
	}
	return nil
}

// Delete removes id and reports whether it was present. The last vector
// takes the freed row. Safe for concurrent use.
func (f *Flat) Delete(id ID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.pos[id]
	if !ok {
		return false
	}
	dim := f.cfg.Dim
	last := len(f.ids) - 1
	if f.fresh() && f.sh.usable() {
		f.sh.remove(i)
	}
	if i != last {
		copy(f.data[i*dim:(i+1)*dim], f.data[last*dim:])
		f.ids[i] = f.ids[last]
		f.pos[f.ids[i]] = i
	}
	f.ids = f.ids[:last]
	f.data = f.data[:last*dim]
	delete(f.pos, id)
	return true
}

// Vector appends the stored vector of id to dst. Safe for concurrent use.
func (f *Flat) Vector(id ID, dst []float32) ([]float32, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	i, ok := f.pos[id]
	if !ok {
		return dst, false
	}
	return append(dst, f.data[i*f.cfg.Dim:(i+1)*f.cfg.Dim]...), true
}

// AppendRows appends every stored id to ids and every stored vector to
// data, in storage order (row i of data, Dim numbers, belongs to the i-th
// appended id), under the read lock, each with one copy: a consistent copy
// of the whole index that holds writers back only for two memory moves.
// Safe for concurrent use.
func (f *Flat) AppendRows(ids []ID, data []float32) ([]ID, []float32) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return append(ids, f.ids...), append(data, f.data...)
}

// each calls fn for every stored vector, in storage order, under the read
// lock. fn must not call back into f's writers.
func (f *Flat) each(fn func(id ID, v []float32) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	dim := f.cfg.Dim
	for i, id := range f.ids {
		if err := fn(id, f.data[i*dim:(i+1)*dim]); err != nil {
			return err
		}
	}
	return nil
}

func (f *Flat) workers(n int) int {
	w := f.cfg.Workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	if n < f.cfg.ParallelMin || w < 1 {
		return 1
	}
	return w
}

// split returns the row range [lo, hi) of worker w of nw over n rows.
func split(n, nw, w int) (int, int) {
	return n * w / nw, n * (w + 1) / nw
}

// Search appends to dst[:0] the k nearest vectors to q, nearest first (ties
// by id), and returns it. Fewer than k come back when the index holds fewer.
// Safe for concurrent use.
func (f *Flat) Search(q []float32, k int, dst []Result) ([]Result, error) {
	dst = dst[:0]
	if err := checkVector(q, f.cfg.Dim); err != nil {
		return dst, err
	}
	if k <= 0 {
		return dst, fmt.Errorf("%w: k %d", ErrInvalidArgument, k)
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	n := len(f.ids)
	nw := f.workers(n)
	hp, _ := f.heaps.Get().(*[]maxHeap)
	if hp == nil {
		hp = new([]maxHeap)
	}
	for len(*hp) < nw {
		*hp = append(*hp, nil)
	}
	hs := (*hp)[:nw]
	if nw == 1 {
		hs[0] = f.topK(q, k, 0, n, hs[0][:0])
	} else {
		var wg sync.WaitGroup
		for w := range nw {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lo, hi := split(n, nw, w)
				hs[w] = f.topK(q, k, lo, hi, hs[w][:0])
			}()
		}
		wg.Wait()
	}
	for _, h := range hs {
		for _, c := range h {
			dst = append(dst, Result{ID: f.ids[c.n], Distance: c.d})
		}
	}
	sortResults(dst)
	if len(dst) > k {
		dst = dst[:k]
	}
	f.heaps.Put(hp)
	return dst, nil
}

// topK scans rows [lo, hi) keeping the k nearest in h.
func (f *Flat) topK(q []float32, k, lo, hi int, h maxHeap) maxHeap {
	dim := f.cfg.Dim
	data := f.data
	for i := lo; i < hi; i++ {
		d := dist(q, data[i*dim:(i+1)*dim])
		if len(h) < k {
			h.push(cand{d: d, n: uint32(i)})
		} else if d < h[0].d {
			h.pop()
			h.push(cand{d: d, n: uint32(i)})
		}
	}
	return h
}

// Within appends to dst[:0] every vector within distance r of q (d <= r),
// nearest first (ties by id), and returns it. The set and the distances are
// those of a float32 scan: the int8 shadow only skips rows it proves to be
// farther than r. Safe for concurrent use.
func (f *Flat) Within(q []float32, r float32, dst []Result) ([]Result, error) {
	dst = dst[:0]
	if err := checkVector(q, f.cfg.Dim); err != nil {
		return dst, err
	}
	if err := checkRadius(r); err != nil {
		return dst, err
	}
	shadowed := f.rlockFresh()
	defer f.mu.RUnlock()
	n := len(f.ids)
	nw := f.workers(n)
	if !shadowed {
		if nw == 1 {
			dst = f.within(q, r, 0, n, dst)
		} else {
			parts := make([][]Result, nw)
			parallel(n, nw, func(w, lo, hi int) {
				parts[w] = f.within(q, r, lo, hi, nil)
			})
			for _, p := range parts {
				dst = append(dst, p...)
			}
		}
		sortResults(dst)
		return dst, nil
	}
	sc := f.getScratch()
	p := f.sh.prepare(q, r, sc.q)
	if nw == 1 {
		dst = f.withinShadow(q, r, &p, sc, 0, n, dst)
	} else {
		pp := p // escapes to the workers; p stays on the stack
		parts := make([][]Result, nw)
		parallel(n, nw, func(w, lo, hi int) {
			wsc := sc
			if w > 0 {
				wsc = f.getScratch()
				copy(wsc.q, sc.q)
				defer f.scratch.Put(wsc)
			}
			parts[w] = f.withinShadow(q, r, &pp, wsc, lo, hi, nil)
		})
		for _, p := range parts {
			dst = append(dst, p...)
		}
	}
	f.scratch.Put(sc)
	sortResults(dst)
	return dst, nil
}

// rlockFresh takes the read lock with the shadow covering every row,
// building it first under the write lock if rows were loaded without it
// (LoadFlat). It reports whether range queries should use the shadow.
func (f *Flat) rlockFresh() bool {
	for {
		f.mu.RLock()
		if f.scan32.Load() || !f.sh.usable() {
			return false
		}
		if f.fresh() {
			return true
		}
		f.mu.RUnlock()
		f.mu.Lock()
		if !f.fresh() {
			f.sh.derive(f.data, len(f.ids), f.workers(len(f.ids)))
		}
		f.mu.Unlock()
	}
}

// fresh reports whether the shadow covers every row. f.mu must be held.
func (f *Flat) fresh() bool { return f.sh.rows == len(f.ids) }

// probeScratch is the per-goroutine scratch of a shadow scan.
type probeScratch struct {
	q    []int8  // codes of the query, stride
	mask []uint8 // kernel output for a block
}

func (f *Flat) getScratch() *probeScratch {
	sc, _ := f.scratch.Get().(*probeScratch)
	if sc == nil {
		sc = new(probeScratch)
	}
	sc.q = growLen(sc.q, f.sh.stride)
	sc.mask = growLen(sc.mask, shadowBlock/4)
	return sc
}

// shadowBlock is how many rows a single-query shadow scan handles per
// kernel call (a multiple of 4).
const shadowBlock = 1024

// withinShadow scans rows [lo, hi) through the shadow with the probe of q
// (codes in sc.q) and appends the rows within r.
func (f *Flat) withinShadow(q []float32, r float32, p *probe, sc *probeScratch, lo, hi int, dst []Result) []Result {
	dim, st := f.cfg.Dim, f.sh.stride
	data, codes, norms := f.data, f.sh.codes, f.sh.norms
	var rechecked uint64
	for blo := lo; blo < hi; blo += shadowBlock {
		m := min(shadowBlock, hi-blo)
		mask := sc.mask[:(m+3)/4]
		scan1(sc.q, codes[blo*st:(blo+m)*st], st, m, norms[blo:blo+m], p.lim, mask)
		for g, bits := range mask {
			for bits != 0 {
				i := blo + 4*g + mathbits.TrailingZeros8(bits)
				bits &= bits - 1
				if !f.sh.keep(p, sc.q, i) {
					continue
				}
				rechecked++
				if d := dist(q, data[i*dim:(i+1)*dim]); d <= r {
					dst = append(dst, Result{ID: f.ids[i], Distance: d})
				}
			}
		}
	}
	f.rechecked.Add(rechecked)
	f.scanned.Add(uint64(hi - lo))
	return dst
}

func (f *Flat) within(q []float32, r float32, lo, hi int, dst []Result) []Result {
	dim := f.cfg.Dim
	data := f.data
	for i := lo; i < hi; i++ {
		if d := dist(q, data[i*dim:(i+1)*dim]); d <= r {
			dst = append(dst, Result{ID: f.ids[i], Distance: d})
		}
	}
	return dst
}

// WithinBatch answers Within(q, r) for every q of qs; out[i] belongs to
// qs[i]. The scan is blocked: each cache-resident block of BlockRows
// vectors serves every query of the batch before the scan moves on, so the
// vectors cross the memory bus once per batch rather than once per query;
// through the shadow, each block of int8 codes is compared with four
// queries at a time. Safe for concurrent use.
func (f *Flat) WithinBatch(qs [][]float32, r float32) ([][]Result, error) {
	for _, q := range qs {
		if err := checkVector(q, f.cfg.Dim); err != nil {
			return nil, err
		}
	}
	if err := checkRadius(r); err != nil {
		return nil, err
	}
	out := make([][]Result, len(qs))
	if len(qs) == 0 {
		return out, nil
	}
	shadowed := f.rlockFresh()
	defer f.mu.RUnlock()
	n := len(f.ids)
	nw := f.workers(n * len(qs))
	var (
		codes  []int8
		probes []probe
	)
	if shadowed {
		st := f.sh.stride
		groups := (len(qs) + 3) / 4
		codes = make([]int8, 4*groups*st) // padding queries stay zero
		probes = make([]probe, 4*groups)  // and their lim, zero, is ignored
		for i, q := range qs {
			probes[i] = f.sh.prepare(q, r, codes[i*st:(i+1)*st])
		}
	}
	scan := func(lo, hi int, out [][]Result) {
		if shadowed {
			f.withinBatchShadow(qs, r, codes, probes, lo, hi, out)
		} else {
			f.withinBlocked(qs, r, lo, hi, out)
		}
	}
	if nw == 1 {
		scan(0, n, out)
	} else {
		parts := make([][][]Result, nw)
		var wg sync.WaitGroup
		for w := range nw {
			parts[w] = make([][]Result, len(qs))
			wg.Add(1)
			go func() {
				defer wg.Done()
				lo, hi := split(n, nw, w)
				scan(lo, hi, parts[w])
			}()
		}
		wg.Wait()
		for i := range qs {
			for _, p := range parts {
				out[i] = append(out[i], p[i]...)
			}
		}
	}
	for i := range out {
		sortResults(out[i])
	}
	return out, nil
}

func (f *Flat) withinBlocked(qs [][]float32, r float32, lo, hi int, out [][]Result) {
	b := f.cfg.BlockRows
	for blo := lo; blo < hi; blo += b {
		bhi := min(blo+b, hi)
		for qi, q := range qs {
			out[qi] = f.within(q, r, blo, bhi, out[qi])
		}
	}
}

// withinBatchShadow is withinBlocked through the shadow: codes holds the
// queries' codes in groups of four (stride each), probes their bounds.
func (f *Flat) withinBatchShadow(qs [][]float32, r float32, codes []int8, probes []probe, lo, hi int, out [][]Result) {
	dim, st := f.cfg.Dim, f.sh.stride
	data, rows, norms := f.data, f.sh.codes, f.sh.norms
	b := f.cfg.BlockRows
	mask := make([]uint8, b)
	var rechecked uint64
	for blo := lo; blo < hi; blo += b {
		m := min(b, hi-blo)
		block, bnorms := rows[blo*st:(blo+m)*st], norms[blo:blo+m]
		for g := 0; g < len(qs); g += 4 {
			lim := [4]int32{probes[g].lim, probes[g+1].lim, probes[g+2].lim, probes[g+3].lim}
			scan4(codes[g*st:(g+4)*st], block, st, m, bnorms, &lim, mask[:m])
			for j := 0; j < m; j++ {
				if j&7 == 0 && j+8 <= m && binary.LittleEndian.Uint64(mask[j:]) == 0 {
					j += 7 // eight rows kept for no query
					continue
				}
				bits := mask[j]
				i := blo + j
				for ; bits != 0; bits &= bits - 1 {
					k := g + mathbits.TrailingZeros8(bits)
					if k >= len(qs) || !f.sh.keep(&probes[k], codes[k*st:(k+1)*st], i) {
						continue
					}
					rechecked++
					if d := dist(qs[k], data[i*dim:(i+1)*dim]); d <= r {
						out[k] = append(out[k], Result{ID: f.ids[i], Distance: d})
					}
				}
			}
		}
	}
	f.rechecked.Add(rechecked)
	f.scanned.Add(uint64(hi-lo) * uint64(len(qs)))
}

// Reserve makes room for n more vectors so that a bulk load does not regrow
// the data slice. Safe for concurrent use.
func (f *Flat) Reserve(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = slices.Grow(f.ids, n)
	f.data = slices.Grow(f.data, n*f.cfg.Dim)
	if f.fresh() && f.sh.usable() {
		f.sh.codes = slices.Grow(f.sh.codes, n*f.sh.stride)
		f.sh.norms = slices.Grow(f.sh.norms, n)
		f.sh.errs = slices.Grow(f.sh.errs, n)
	}
}

// AddBatch stores a copy of the vectors in data (len(ids) rows of Dim
// numbers, contiguous) under ids: all of them, or none when one is invalid
// (ErrDim, ErrInvalidVector, ErrDuplicate, ErrFull). It is the bulk load:
// the rows are appended at once, and the int8 shadow is derived once over
// the whole index (on Workers goroutines) when the batch at least doubles
// the index. Safe for concurrent use.
func (f *Flat) AddBatch(ids []ID, data []float32) error { return f.addBatch(ids, data, false) }

// AdoptBatch is AddBatch, except that an empty index keeps data itself as
// its storage instead of a copy: the caller hands data over and must
// neither read nor change it afterwards. A bulk load then needs no second
// copy of the vectors. Safe for concurrent use.
func (f *Flat) AdoptBatch(ids []ID, data []float32) error { return f.addBatch(ids, data, true) }

func (f *Flat) addBatch(ids []ID, data []float32, adopt bool) error {
	dim := f.cfg.Dim
	if len(data) != len(ids)*dim {
		return fmt.Errorf("%w: %d numbers for %d vectors of %d", ErrDim, len(data), len(ids), dim)
	}
	for i := range ids {
		if err := checkVector(data[i*dim:(i+1)*dim], dim); err != nil {
			return fmt.Errorf("vector %d: %w", i, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ids)+len(ids) > maxNodes {
		return ErrFull
	}
	n0 := len(f.ids)
	if n0 == 0 && len(f.pos) == 0 {
		f.pos = make(map[ID]int, len(ids))
	}
	for i, id := range ids {
		if _, ok := f.pos[id]; ok {
			for _, o := range ids[:i] {
				delete(f.pos, o)
			}
			return fmt.Errorf("%w: %d", ErrDuplicate, id)
		}
		f.pos[id] = n0 + i
	}
	fresh := f.fresh()
	f.ids = append(f.ids, ids...)
	if adopt && n0 == 0 {
		f.data = data[:len(data):len(data)]
	} else {
		f.data = append(f.data, data...)
	}
	if !fresh || !f.sh.usable() {
		return nil
	}
	n := len(f.ids)
	if len(ids) >= n0 {
		f.sh.derive(f.data, n, f.workers(n))
		return nil
	}
	for i := n0; i < n; i++ {
		f.sh.add(f.data[i*dim:(i+1)*dim], f.data[:(i+1)*dim])
	}
	return nil
}
