package boltstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// The walk reads a store file with ReadAt, never through bbolt's memory
// map, and checks every page reachable from the newest meta page before
// bbolt opens it: bbolt trusts the offsets and lengths inside its pages,
// and a flipped bit in one of them makes it read outside its mapping, a
// fault no recover can catch. Layout (go.etcd.io/bbolt/internal/common, in
// the machine's byte order): a page starts with its id (8 bytes), flags
// (2), element count (2) and overflow page count (4); a branch element is
// pos, key size (4 each) and child page id (8); a leaf element is flags,
// pos, key size and value size (4 each), pos counted from the element; a
// bucket's value is its root page id and sequence (8 each) followed, for
// an inline bucket (root 0), by a page holding its elements.

const (
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01
	elementSize      = 16
	noFreelist       = ^uint64(0)
	maxDepth         = 64
)

type walker struct {
	f    *os.File
	ps   int64
	hwm  uint64          // the meta page's high-water page id
	seen map[uint64]bool // pages reached so far
	// format is the meta bucket's format value, once found.
	format []byte
	// seals are the seal failures found, reported only if the file is of
	// the current format (an older one is reported by meta).
	seals []error
}

// walkFile checks f, a bbolt file, page by page; nil when it is sound or
// empty (a file Create just made).
func walkFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("boltstore: %w", err)
	}
	if fi.Size() == 0 {
		return nil
	}
	ne := binary.NativeEndian
	// The page size is in the meta pages; a file whose first meta page is
	// damaged is refused by checkMeta whatever the size.
	head := make([]byte, pageHeaderSize+metaSize)
	if _, err := f.ReadAt(head, 0); err != nil {
		return &CorruptError{Where: "meta page 0 (offset 0)", Problem: "file ends before it"}
	}
	ps := int(ne.Uint32(head[pageHeaderSize+8:]))
	if ps < 1024 || ps > 1<<20 || ps&(ps-1) != 0 {
		return &CorruptError{Where: "meta page 0 (offset 0)", Problem: fmt.Sprintf("page size %d", ps)}
	}
	var metas [2][]byte
	for i := range 2 {
		if err := checkMeta(f, i, ps); err != nil {
			return err
		}
		m := make([]byte, metaSize)
		if _, err := f.ReadAt(m, int64(i)*int64(ps)+pageHeaderSize); err != nil {
			return fmt.Errorf("boltstore: %w", err)
		}
		metas[i] = m
	}
	m := metas[0]
	if ne.Uint64(metas[1][48:]) > ne.Uint64(m[48:]) { // the newer transaction
		m = metas[1]
	}
	w := &walker{f: f, ps: int64(ps), hwm: ne.Uint64(m[40:]), seen: map[uint64]bool{0: true, 1: true}}
	if w.hwm < 2 || int64(w.hwm)*w.ps > fi.Size() {
		return &CorruptError{Where: "meta", Problem: fmt.Sprintf("high-water page %d, file holds %d pages", w.hwm, fi.Size()/w.ps)}
	}
	if fl := ne.Uint64(m[32:]); fl != noFreelist {
		if err := w.freelist(fl); err != nil {
			return err
		}
	}
	if err := w.tree(ne.Uint64(m[16:]), nil, 0); err != nil {
		return err
	}
	if string(w.format) == formatVersion && len(w.seals) > 0 {
		return w.seals[0]
	}
	return nil
}

func (w *walker) where(id uint64) string {
	return fmt.Sprintf("page %d (offset %d)", id, int64(id)*w.ps)
}

// page reads page id with its overflow pages, once; flag is the type it
// must have.
func (w *walker) page(id uint64, flags ...uint16) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, &CorruptError{Where: w.where(id), Problem: fmt.Sprintf("page id out of range 2..%d", w.hwm-1)}
	}
	if w.seen[id] {
		return nil, &CorruptError{Where: w.where(id), Problem: "page reached twice"}
	}
	w.seen[id] = true
	ne := binary.NativeEndian
	head := make([]byte, pageHeaderSize)
	if _, err := w.f.ReadAt(head, int64(id)*w.ps); err != nil {
		return nil, &CorruptError{Where: w.where(id), Problem: "beyond the end of the file"}
	}
	if got := ne.Uint64(head); got != id {
		return nil, &CorruptError{Where: w.where(id), Problem: fmt.Sprintf("header says page %d", got)}
	}
	f := ne.Uint16(head[8:])
	ok := false
	for _, want := range flags {
		ok = ok || f == want
	}
	if !ok {
		return nil, &CorruptError{Where: w.where(id), Problem: fmt.Sprintf("page type %#x, want one of %#x", f, flags)}
	}
	over := uint64(ne.Uint32(head[12:]))
	if id+over >= w.hwm {
		return nil, &CorruptError{Where: w.where(id), Problem: fmt.Sprintf("%d overflow pages run past the high-water page %d", over, w.hwm)}
	}
	for o := id + 1; o <= id+over; o++ {
		if w.seen[o] {
			return nil, &CorruptError{Where: w.where(o), Problem: "overflow page reached twice"}
		}
		w.seen[o] = true
	}
	buf := make([]byte, int64(over+1)*w.ps)
	if _, err := w.f.ReadAt(buf, int64(id)*w.ps); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("boltstore: reading %s: %w", w.where(id), err)
	}
	return buf, nil
}

func (w *walker) freelist(id uint64) error {
	p, err := w.page(id, freelistPageFlag)
	if err != nil {
		return err
	}
	ne := binary.NativeEndian
	idx, n := uint64(0), uint64(ne.Uint16(p[10:]))
	if n == 0xffff {
		if len(p) < pageHeaderSize+8 {
			return &CorruptError{Where: w.where(id), Problem: "freelist count missing"}
		}
		idx, n = 1, ne.Uint64(p[pageHeaderSize:])
	}
	if n > uint64(len(p)-pageHeaderSize)/8-idx {
		return &CorruptError{Where: w.where(id), Problem: fmt.Sprintf("freelist of %d ids does not fit its pages", n)}
	}
	for i := range n {
		if f := ne.Uint64(p[pageHeaderSize+8*(idx+i):]); f < 2 || f >= w.hwm {
			return &CorruptError{Where: w.where(id), Problem: fmt.Sprintf("free page id %d out of range", f)}
		}
	}
	return nil
}

// tree walks the B+tree of a bucket rooted at page id; bucket is the
// bucket's name, nil for the root bucket (whose keys are bucket names).
func (w *walker) tree(id uint64, bucket []byte, depth int) error {
	if depth > maxDepth {
		return &CorruptError{Where: w.where(id), Problem: "tree deeper than any store"}
	}
	p, err := w.page(id, branchPageFlag, leafPageFlag)
	if err != nil {
		return err
	}
	return w.elements(p, w.where(id), bucket, depth)
}

// elements checks the elements of page p (a page read from the file or an
// inline bucket's page), located at loc.
func (w *walker) elements(p []byte, loc string, bucket []byte, depth int) error {
	ne := binary.NativeEndian
	if len(p) < pageHeaderSize {
		return &CorruptError{Where: loc, Problem: "shorter than a page header"}
	}
	flags, n := ne.Uint16(p[8:]), int(ne.Uint16(p[10:]))
	if pageHeaderSize+n*elementSize > len(p) {
		return &CorruptError{Where: loc, Problem: fmt.Sprintf("%d elements do not fit the page", n)}
	}
	var prev []byte
	for i := range n {
		e := pageHeaderSize + i*elementSize
		var pos, ksize, vsize uint64
		var child uint64
		var eflags uint32
		if flags == branchPageFlag {
			pos, ksize, child = uint64(ne.Uint32(p[e:])), uint64(ne.Uint32(p[e+4:])), ne.Uint64(p[e+8:])
		} else {
			eflags = ne.Uint32(p[e:])
			pos, ksize, vsize = uint64(ne.Uint32(p[e+4:])), uint64(ne.Uint32(p[e+8:])), uint64(ne.Uint32(p[e+12:]))
		}
		start := uint64(e) + pos
		if start+ksize+vsize > uint64(len(p)) {
			return &CorruptError{Where: loc, Problem: fmt.Sprintf("element %d (%d+%d bytes at %d) runs past the page", i, ksize, vsize, start)}
		}
		k := p[start : start+ksize]
		v := p[start+ksize : start+ksize+vsize]
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return &CorruptError{Where: loc, Problem: fmt.Sprintf("element %d: keys out of order", i)}
		}
		prev = k
		if flags == branchPageFlag {
			if err := w.tree(child, bucket, depth+1); err != nil {
				return err
			}
			continue
		}
		if err := w.leaf(k, v, eflags, loc, bucket, depth); err != nil {
			return err
		}
	}
	return nil
}

// leaf checks one key and value of a leaf page.
func (w *walker) leaf(k, v []byte, eflags uint32, loc string, bucket []byte, depth int) error {
	isBucket := eflags&bucketLeafFlag != 0
	if bucket == nil { // the root bucket holds only buckets
		if !isBucket || len(v) < 16 {
			return &CorruptError{Where: fmt.Sprintf("%s key %q", loc, k), Problem: "the root holds a value, not a bucket"}
		}
		root := binary.NativeEndian.Uint64(v)
		name := bytes.Clone(k)
		if root == 0 {
			return w.elements(v[16:], fmt.Sprintf("inline bucket %q in %s", k, loc), name, depth+1)
		}
		return w.tree(root, name, depth+1)
	}
	if isBucket {
		return &CorruptError{Where: where(bucket, k) + " in " + loc, Problem: "a nested bucket"}
	}
	if bytes.Equal(bucket, bucketMeta) && bytes.Equal(k, keyFormat) {
		w.format = bytes.Clone(v)
		return nil
	}
	if _, err := unseal(bucket, k, v); err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			ce.Where += " in " + loc
		}
		w.seals = append(w.seals, err)
	}
	return nil
}
