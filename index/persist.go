package index

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"unsafe"
)

// File format (all integers little-endian):
//
//	magic    8 bytes "FOIDX\r\n\x1a" (catches text-mode and truncation mangling)
//	version  uint32 (formatVersion)
//	sections, each: tag uint32 | length uint64 | payload | CRC32-C uint32
//	         over tag, length and payload
//	the END section (empty) closes the file; nothing may follow it.
//
// Sections, in order: HEAD (kind, dim, configuration), then for a Flat: IDS
// and VECS; for an HNSW: GRPH (node and live counts, entry point), IDS,
// VECS, LVLS (level per node), DEAD (tombstone bitset), LNK0 (layer-0 lists,
// M0+1 uint32 per node) and UPPR (upper-layer lists, derived offsets).
// Every count is checked against the header and every link against the node
// count before the index is returned.
const (
	formatVersion = 1
	kindFlat      = 1
	kindHNSW      = 2
	kindIndex     = 3
)

var magic = [8]byte{'F', 'O', 'I', 'D', 'X', '\r', '\n', 0x1a}

func tag(s string) uint32 { return binary.LittleEndian.Uint32([]byte(s)) }

var (
	tagHead = tag("HEAD")
	tagIDs  = tag("IDS ")
	tagVecs = tag("VECS")
	tagGrph = tag("GRPH")
	tagLvls = tag("LVLS")
	tagDead = tag("DEAD")
	tagLnk0 = tag("LNK0")
	tagUppr = tag("UPPR")
	tagEnd  = tag("END ")
	tagFlat = tag("FLAT")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// bytesOf views a slice of fixed-size numbers as its bytes; the format is
// little-endian, so this is used only on little-endian machines.
func bytesOf[T uint8 | uint32 | uint64 | float32 | ID](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// fileWriter writes sections with their checksums.
type fileWriter struct {
	w   *bufio.Writer
	crc uint32
	err error
}

func (fw *fileWriter) raw(b []byte) {
	if fw.err != nil {
		return
	}
	fw.crc = crc32.Update(fw.crc, castagnoli, b)
	_, fw.err = fw.w.Write(b)
}

// section writes one section whose payload is the concatenation of parts.
func (fw *fileWriter) section(t uint32, parts ...[]byte) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	var h [12]byte
	binary.LittleEndian.PutUint32(h[:], t)
	binary.LittleEndian.PutUint64(h[4:], uint64(n))
	fw.crc = 0
	fw.raw(h[:])
	for _, p := range parts {
		fw.raw(p)
	}
	var c [4]byte
	binary.LittleEndian.PutUint32(c[:], fw.crc)
	if fw.err == nil {
		_, fw.err = fw.w.Write(c[:])
	}
}

// le is a small little-endian encoder for header sections.
type le []byte

func (b le) u32(v uint32) le  { return binary.LittleEndian.AppendUint32(b, v) }
func (b le) u64(v uint64) le  { return binary.LittleEndian.AppendUint64(b, v) }
func (b le) f32(v float32) le { return b.u32(math.Float32bits(v)) }

// writeAtomic writes a file through fn: temporary file in the same
// directory, fsync, rename over path, fsync of the directory.
func writeAtomic(path string, fn func(fw *fileWriter)) (err error) {
	if !littleEndian {
		return errors.New("index: WriteFile needs a little-endian machine")
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	fw := &fileWriter{w: bufio.NewWriterSize(f, 1<<20)}
	if _, err := fw.w.Write(magic[:]); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	fw.w.Write(le(nil).u32(formatVersion))
	fn(fw)
	fw.section(tagEnd)
	if fw.err != nil {
		return fmt.Errorf("index: writing %s: %w", path, fw.err)
	}
	if err := fw.w.Flush(); err != nil {
		return fmt.Errorf("index: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("index: syncing %s: %w", dir, err)
	}
	return nil
}

// fileReader reads and checks sections.
type fileReader struct {
	r    *bufio.Reader
	left int64 // bytes not yet read; bounds every allocation
	path string
}

func (fr *fileReader) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrFormat, fr.path, fmt.Sprintf(format, args...))
}

func (fr *fileReader) full(b []byte) error {
	if int64(len(b)) > fr.left {
		return fr.errorf("truncated")
	}
	if _, err := io.ReadFull(fr.r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fr.errorf("truncated")
		}
		return fmt.Errorf("index: reading %s: %w", fr.path, err)
	}
	fr.left -= int64(len(b))
	return nil
}

// section reads the header of the next section, which must have tag t and
// a payload of exactly want bytes (want < 0: any length that fits), then
// fills dst (allocated by alloc(length)) and checks the CRC.
func (fr *fileReader) section(t uint32, want int64, alloc func(n int64) ([]byte, error)) error {
	var h [12]byte
	if err := fr.full(h[:]); err != nil {
		return err
	}
	got := binary.LittleEndian.Uint32(h[:])
	n := binary.LittleEndian.Uint64(h[4:])
	if got != t {
		return fr.errorf("section %q where %q expected", string(h[:4]), string(le(nil).u32(t)))
	}
	if n > uint64(fr.left) || (want >= 0 && n != uint64(want)) {
		return fr.errorf("section %q has length %d, want %d (file has %d bytes left)", string(h[:4]), n, want, fr.left)
	}
	buf, err := alloc(int64(n))
	if err != nil {
		return err
	}
	if err := fr.full(buf); err != nil {
		return err
	}
	crc := crc32.Update(crc32.Update(0, castagnoli, h[:]), castagnoli, buf)
	var c [4]byte
	if err := fr.full(c[:]); err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(c[:]) != crc {
		return fmt.Errorf("%w: %s: section %q", ErrChecksum, fr.path, string(h[:4]))
	}
	return nil
}

// small reads a section of any length into a new byte slice.
func (fr *fileReader) small(t uint32, max int64) ([]byte, error) {
	var out []byte
	err := fr.section(t, -1, func(n int64) ([]byte, error) {
		if n > max {
			return nil, fr.errorf("section too long: %d", n)
		}
		out = make([]byte, n)
		return out, nil
	})
	return out, err
}

// into reads a section of exactly len(dst) elements into dst.
func into[T uint8 | uint32 | uint64 | float32 | ID](fr *fileReader, t uint32, dst []T) error {
	b := bytesOf(dst)
	return fr.section(t, int64(len(b)), func(int64) ([]byte, error) { return b, nil })
}

// checkCount rejects counts that the rest of the file cannot hold before
// anything is allocated for them.
func (fr *fileReader) checkCount(what string, n, bytesEach uint64) (int, error) {
	if bytesEach > 0 && n > uint64(fr.left)/bytesEach || n > maxNodes {
		return 0, fr.errorf("%s %d does not fit in the file", what, n)
	}
	return int(n), nil
}

func openIndexFile(path string, fn func(fr *fileReader) error) error {
	if !littleEndian {
		return errors.New("index: Load needs a little-endian machine")
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	fr := &fileReader{r: bufio.NewReaderSize(f, 1<<20), left: st.Size(), path: path}
	var m [12]byte
	if err := fr.full(m[:]); err != nil {
		return err
	}
	if [8]byte(m[:8]) != magic {
		return fr.errorf("not an index file (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(m[8:]); v != formatVersion {
		return fr.errorf("format version %d, this build reads %d", v, formatVersion)
	}
	if err := fn(fr); err != nil {
		return err
	}
	if err := fr.section(tagEnd, 0, func(int64) ([]byte, error) { return nil, nil }); err != nil {
		return err
	}
	if fr.left != 0 {
		return fr.errorf("%d bytes after the end section", fr.left)
	}
	return nil
}

// dec is a bounds-checked little-endian decoder for header sections.
type dec struct {
	b   []byte
	bad bool
}

func (d *dec) u32() uint32 {
	if len(d.b) < 4 {
		d.bad = true
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *dec) u64() uint64 {
	if len(d.b) < 8 {
		d.bad = true
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *dec) f32() float32 { return math.Float32frombits(d.u32()) }

// finite reports whether v holds no NaN or ±Inf, on all cores for long
// slices. A float32 is NaN or infinite when its exponent bits are all ones,
// that is when adding one to the exponent field carries into the sign bit:
// the loop ORs that carry over the whole slice without a branch.
func finite(v []float32) bool {
	ok := true
	var mu sync.Mutex
	_ = inParallel(len(v), 1<<20, func(lo, hi int) error {
		if !finiteBits(v[lo:hi]) {
			mu.Lock()
			ok = false
			mu.Unlock()
		}
		return nil
	})
	return ok
}

func finiteBits(v []float32) bool {
	var acc0, acc1, acc2, acc3 uint32
	i := 0
	for ; i+4 <= len(v); i += 4 {
		acc0 |= math.Float32bits(v[i])&0x7f800000 + 0x00800000
		acc1 |= math.Float32bits(v[i+1])&0x7f800000 + 0x00800000
		acc2 |= math.Float32bits(v[i+2])&0x7f800000 + 0x00800000
		acc3 |= math.Float32bits(v[i+3])&0x7f800000 + 0x00800000
	}
	for ; i < len(v); i++ {
		acc0 |= math.Float32bits(v[i])&0x7f800000 + 0x00800000
	}
	return (acc0|acc1|acc2|acc3)&0x80000000 == 0
}

// inParallel calls fn over [0, n) split into GOMAXPROCS contiguous ranges,
// on that many goroutines when n is at least minN (else on the caller's),
// and returns the error of the lowest range that failed.
func inParallel(n, minN int, fn func(lo, hi int) error) error {
	nw := runtime.GOMAXPROCS(0)
	if n < minN || nw < 2 {
		return fn(0, n)
	}
	errs := make([]error, nw)
	var wg sync.WaitGroup
	for w := range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = fn(n*w/nw, n*(w+1)/nw)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// --- Flat ---

func (f *Flat) encode(fw *fileWriter) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fw.section(tagFlat, le(nil).u64(uint64(len(f.ids))))
	fw.section(tagIDs, bytesOf(f.ids))
	fw.section(tagVecs, bytesOf(f.data))
}

func decodeFlat(fr *fileReader, cfg FlatConfig) (*Flat, error) {
	f, err := NewFlat(cfg)
	if err != nil {
		return nil, fr.errorf("%v", err)
	}
	b, err := fr.small(tagFlat, 8)
	if err != nil {
		return nil, err
	}
	d := dec{b: b}
	n, err := fr.checkCount("vector count", d.u64(), 8+4*uint64(cfg.Dim))
	if err != nil || d.bad {
		return nil, errors.Join(fr.errorf("FLAT header"), err)
	}
	f.ids = make([]ID, n)
	if err := into(fr, tagIDs, f.ids); err != nil {
		return nil, err
	}
	f.data = make([]float32, n*cfg.Dim)
	if err := into(fr, tagVecs, f.data); err != nil {
		return nil, err
	}
	if !finite(f.data) {
		return nil, fr.errorf("vector holds NaN or Inf")
	}
	f.pos = make(map[ID]int, n)
	for i, id := range f.ids {
		if _, dup := f.pos[id]; dup {
			return nil, fr.errorf("duplicate id %d", id)
		}
		f.pos[id] = i
	}
	// Build the int8 shadow now, on all workers, so the first range query
	// after a load does not pay for it under the write lock.
	if n > 0 && f.sh.usable() {
		f.sh.derive(f.data, len(f.ids), f.workers(len(f.ids)))
	}
	return f, nil
}

// WriteFile saves the index to path atomically (temporary file, fsync,
// rename, directory fsync). Safe for concurrent use; writers wait.
func (f *Flat) WriteFile(path string) error {
	return writeAtomic(path, func(fw *fileWriter) {
		fw.section(tagHead, le(nil).u32(kindFlat).u32(uint32(f.cfg.Dim)))
		f.encode(fw)
	})
}

// LoadFlat reads a Flat index written by (*Flat).WriteFile. A missing,
// truncated or corrupt file is an error (ErrFormat, ErrChecksum, or an
// fs error), never an empty index. cfg supplies the scan settings; its Dim
// must match the file's.
func LoadFlat(path string, cfg FlatConfig) (*Flat, error) {
	var f *Flat
	err := openIndexFile(path, func(fr *fileReader) error {
		if err := readHead(fr, kindFlat, cfg.Dim, nil); err != nil {
			return err
		}
		var err error
		f, err = decodeFlat(fr, cfg)
		return err
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// readHead reads the HEAD section: kind, dim, then the rest for extra.
func readHead(fr *fileReader, kind uint32, dim int, extra func(d *dec) error) error {
	b, err := fr.small(tagHead, 1024)
	if err != nil {
		return err
	}
	d := dec{b: b}
	k, fd := d.u32(), d.u32()
	if d.bad {
		return fr.errorf("short header")
	}
	if k != kind {
		return fr.errorf("file holds index kind %d, want %d", k, kind)
	}
	if int(fd) != dim {
		return fmt.Errorf("%w: %s: file dimension %d, want %d", ErrDim, fr.path, fd, dim)
	}
	if extra != nil {
		if err := extra(&d); err != nil {
			return err
		}
	}
	if d.bad || len(d.b) != 0 {
		return fr.errorf("header length")
	}
	return nil
}

// --- HNSW ---

func (h *HNSW) encode(fw *fileWriter) {
	h.batchMu.Lock() // no AddBatch in progress (it runs under the read lock)
	defer h.batchMu.Unlock()
	h.mu.RLock()
	defer h.mu.RUnlock()
	c := h.cfg
	fw.section(tagGrph, le(nil).u32(uint32(c.M)).u32(uint32(c.EfConstruction)).u32(uint32(c.EfSearch)).
		f32(c.RangeSlack).u64(c.Seed).u64(uint64(len(h.ids))).u64(uint64(h.live)).u32(h.entry).u32(uint32(int32(h.top))))
	fw.section(tagIDs, bytesOf(h.ids))
	fw.section(tagVecs, bytesOf(h.vecs))
	fw.section(tagLvls, bytesOf(h.levels))
	fw.section(tagDead, bytesOf(h.dead))
	fw.section(tagLnk0, bytesOf(h.links0))
	fw.section(tagUppr, bytesOf(h.upper))
}

func decodeHNSW(fr *fileReader, cfg HNSWConfig) (*HNSW, error) {
	b, err := fr.small(tagGrph, 1024)
	if err != nil {
		return nil, err
	}
	d := dec{b: b}
	cfg.M, cfg.EfConstruction, cfg.EfSearch = int(d.u32()), int(d.u32()), int(d.u32())
	cfg.RangeSlack, cfg.Seed = d.f32(), d.u64()
	nodes64, live64, entry, top := d.u64(), d.u64(), d.u32(), int32(d.u32())
	if d.bad || len(d.b) != 0 {
		return nil, fr.errorf("GRPH header length")
	}
	if err := cfg.validate(); err != nil {
		return nil, fr.errorf("graph parameters: %v", err)
	}
	h, err := NewHNSW(cfg)
	if err != nil {
		return nil, fr.errorf("%v", err)
	}
	h.cfg = cfg // the file's parameters as written, a zero RangeSlack or Seed included
	h.rng = rand.New(rand.NewPCG(cfg.Seed, nodes64))
	n, err := fr.checkCount("node count", nodes64, 8+4*uint64(cfg.Dim)+1+4*uint64(h.m0+1))
	if err != nil {
		return nil, err
	}
	if live64 > nodes64 {
		return nil, fr.errorf("live count %d above node count %d", live64, nodes64)
	}
	h.ids = make([]ID, n)
	if err := into(fr, tagIDs, h.ids); err != nil {
		return nil, err
	}
	h.vecs = makeHuge[float32](n * cfg.Dim)
	if err := into(fr, tagVecs, h.vecs); err != nil {
		return nil, err
	}
	// The vectors are checked on another goroutine while the rest of the
	// file is read (the channel is buffered: an early return leaks nothing).
	vecsOK := make(chan bool, 1)
	go func() { vecsOK <- finiteBits(h.vecs) }()
	h.levels = make([]uint8, n)
	if err := into(fr, tagLvls, h.levels); err != nil {
		return nil, err
	}
	h.dead = make([]uint64, (n+63)/64)
	if err := into(fr, tagDead, h.dead); err != nil {
		return nil, err
	}
	if n%64 != 0 && h.dead[len(h.dead)-1]>>(n%64) != 0 {
		return nil, fr.errorf("tombstone bits beyond the last node")
	}
	// The id map is built on another goroutine too (a Go map is filled by
	// one goroutine; this is the longest serial step of a load).
	mapErr := make(chan error, 1)
	go func() { mapErr <- h.loadNodeMap(fr, live64) }()
	h.links0 = makeHuge[uint32](n * (h.m0 + 1))
	if err := into(fr, tagLnk0, h.links0); err != nil {
		return nil, err
	}
	// Upper-layer offsets follow from the levels.
	h.upperOff = make([]uint32, n)
	up, maxL := 0, -1
	for i, l := range h.levels {
		if l > maxLevel {
			return nil, fr.errorf("node %d has level %d", i, l)
		}
		maxL = max(maxL, int(l))
		if l > 0 {
			h.upperOff[i] = uint32(up + 1)
			up += int(l) * (cfg.M + 1)
			if up > math.MaxUint32-1 {
				return nil, fr.errorf("upper layers too large")
			}
		}
	}
	if _, err := fr.checkCount("upper links", uint64(up), 4); err != nil {
		return nil, err
	}
	h.upper = make([]uint32, up)
	if err := into(fr, tagUppr, h.upper); err != nil {
		return nil, err
	}
	// Links: counts within bounds, every target an existing node that has
	// the layer, no self-links. Layer 0 (every node has it) is checked on
	// all cores; the upper layers are few.
	if err := inParallel(n, 1<<14, func(lo, hi int) error {
		stride := h.m0 + 1
		for i := lo; i < hi; i++ {
			s := h.links0[i*stride : (i+1)*stride]
			c := s[0]
			if int(c) > h.m0 {
				return fr.errorf("node %d layer 0 has %d links, max %d", i, c, h.m0)
			}
			for _, x := range s[1 : 1+c] {
				if x >= uint32(n) || x == uint32(i) {
					return fr.errorf("node %d layer 0 links to %d", i, x)
				}
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for i, top := range h.levels {
		for l := 1; l <= int(top); l++ {
			off := int(h.upperOff[i]-1) + (l-1)*(cfg.M+1)
			s := h.upper[off : off+cfg.M+1]
			if int(s[0]) > cfg.M {
				return nil, fr.errorf("node %d layer %d has %d links, max %d", i, l, s[0], cfg.M)
			}
			for _, x := range s[1 : 1+s[0]] {
				if int(x) >= n || x == uint32(i) || int(h.levels[x]) < l {
					return nil, fr.errorf("node %d layer %d links to %d", i, l, x)
				}
			}
		}
	}
	if n == 0 {
		if live64 != 0 || top != -1 {
			return nil, fr.errorf("empty graph with live %d, top %d", live64, top)
		}
	} else if int(entry) >= n || int(top) != maxL || int(h.levels[entry]) != maxL {
		return nil, fr.errorf("entry point %d at layer %d inconsistent", entry, top)
	}
	h.entry, h.top = entry, int(top)
	if !<-vecsOK {
		return nil, fr.errorf("vector holds NaN or Inf")
	}
	if err := <-mapErr; err != nil {
		return nil, err
	}
	h.live = len(h.node)
	return h, nil
}

// loadNodeMap fills h.node from h.ids and h.dead, refusing a live id seen
// twice or a live count other than live.
func (h *HNSW) loadNodeMap(fr *fileReader, live uint64) error {
	if live > uint64(len(h.ids)) {
		return fr.errorf("live count %d above node count %d", live, len(h.ids))
	}
	m := make(map[ID]uint32, live)
	for i, id := range h.ids {
		if h.isDead(uint32(i)) {
			continue
		}
		k := len(m)
		m[id] = uint32(i) // one lookup: a repeat leaves the length unchanged
		if len(m) == k {
			return fr.errorf("duplicate live id %d", id)
		}
	}
	if uint64(len(m)) != live {
		return fr.errorf("live count %d, file says %d", len(m), live)
	}
	h.node = m
	return nil
}

// WriteFile saves the graph to path atomically (temporary file, fsync,
// rename, directory fsync). Safe for concurrent use; writers wait.
func (h *HNSW) WriteFile(path string) error {
	return writeAtomic(path, func(fw *fileWriter) {
		fw.section(tagHead, le(nil).u32(kindHNSW).u32(uint32(h.cfg.Dim)))
		h.encode(fw)
	})
}

// LoadHNSW reads a graph written by (*HNSW).WriteFile, with the graph
// parameters stored in the file and Workers from cfg; cfg.Dim must match.
// A missing, truncated or corrupt file is an error, never an empty index.
func LoadHNSW(path string, cfg HNSWConfig) (*HNSW, error) {
	var h *HNSW
	err := openIndexFile(path, func(fr *fileReader) error {
		if err := readHead(fr, kindHNSW, cfg.Dim, nil); err != nil {
			return err
		}
		var err error
		h, err = decodeHNSW(fr, cfg)
		return err
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// --- Index ---

// WriteFile saves the index, its mode and size threshold, and whichever of
// the exact or graph index is active, to path atomically. Safe for
// concurrent use; writers wait.
func (x *Index) WriteFile(path string) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return writeAtomic(path, func(fw *fileWriter) {
		active := uint32(kindFlat)
		if x.hnsw != nil {
			active = kindHNSW
		}
		fw.section(tagHead, le(nil).u32(kindIndex).u32(uint32(x.cfg.Dim)).
			u32(uint32(x.cfg.Mode)).u64(uint64(x.cfg.ExactUpTo)).u32(active))
		if x.hnsw != nil {
			x.hnsw.encode(fw)
		} else {
			x.flat.encode(fw)
		}
	})
}

// Load reads an Index written by (*Index).WriteFile for 128-D descriptors
// (see LoadConfig for other settings). A missing, truncated or corrupt file
// is an error (wrapping ErrFormat, ErrChecksum, ErrDim or the fs error),
// never an empty index.
func Load(path string) (*Index, error) { return LoadConfig(path, DefaultConfig()) }

// LoadConfig is Load with the runtime settings (Dim, which must match the
// file, and the Flat scan and HNSW worker settings) taken from cfg; the
// mode, threshold and graph parameters come from the file.
func LoadConfig(path string, cfg Config) (*Index, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	x := &Index{cfg: cfg}
	err := openIndexFile(path, func(fr *fileReader) error {
		var active uint32
		err := readHead(fr, kindIndex, cfg.Dim, func(d *dec) error {
			mode, upTo := Mode(d.u32()), d.u64()
			active = d.u32()
			if d.bad || mode < ModeAuto || mode > ModeHNSW || upTo > uint64(math.MaxInt) ||
				(active != kindFlat && active != kindHNSW) || (mode == ModeHNSW && active != kindHNSW) ||
				(mode == ModeExact && active != kindFlat) {
				return fr.errorf("bad index header")
			}
			x.cfg.Mode, x.cfg.ExactUpTo = mode, int(upTo)
			return nil
		})
		if err != nil {
			return err
		}
		if active == kindHNSW {
			x.hnsw, err = decodeHNSW(fr, cfg.HNSW)
			if err == nil {
				x.cfg.HNSW = x.hnsw.cfg
			}
		} else {
			x.flat, err = decodeFlat(fr, cfg.Flat)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if x.needsBuild() { // no other goroutine has x yet
		x.startBuild()
	}
	return x, nil
}
