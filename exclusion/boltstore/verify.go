package boltstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"
)

// bbolt's meta page layout (go.etcd.io/bbolt/internal/common): a 16-byte
// page header, then magic, version, page size and flags (4 bytes each), the
// root bucket (root page id, sequence), the freelist page id, the high-water
// page id and the transaction id (8 bytes each), and the FNV-64a checksum of
// the 56 bytes before it. Integers are in the machine's byte order.
const (
	pageHeaderSize = 16
	metaMagic      = 0xED0CDAED
	metaVersion    = 2
	metaSumOffset  = 56
	metaSize       = 64
)

// maxReported is how many problems a CorruptError lists at most.
const maxReported = 5

// verify runs bbolt's own consistency check over a store walkFile found
// sound: no page both used and free, none lost, keys in order. Together
// they check a whole store file when it is opened:
//
//   - both meta pages against their checksums (walkFile reads them from the
//     file: bbolt falls back to the other meta page when one fails its
//     checksum, which would serve the registry as it was one transaction
//     earlier);
//   - every page reachable from the newest meta page: type, bounds of every
//     element, child page ids, freelist (walkFile, before bbolt maps the
//     file);
//   - the seal of every key and value (walkFile);
//   - free and used pages (bbolt's tx.Check).
//
// Damage is a *CorruptError saying where it is.
func verify(db *bolt.DB) error {
	return guard(func() error {
		return db.View(func(tx *bolt.Tx) error {
			var problems []error
			for err := range tx.Check() {
				problems = append(problems, err)
			}
			if len(problems) > 0 {
				return &CorruptError{Where: "pages", Problem: summarize(problems)}
			}
			return nil
		})
	})
}

func summarize(problems []error) string {
	s := problems[:min(len(problems), maxReported)]
	msg := errors.Join(s...).Error()
	if len(problems) > len(s) {
		msg += fmt.Sprintf(" (and %d more)", len(problems)-len(s))
	}
	return string(bytes.ReplaceAll([]byte(msg), []byte("\n"), []byte("; ")))
}

// checkMeta reads meta page i (of size ps) from f and checks its magic,
// version and checksum.
func checkMeta(f *os.File, i, ps int) error {
	off := int64(i) * int64(ps)
	w := fmt.Sprintf("meta page %d (offset %d)", i, off)
	b := make([]byte, pageHeaderSize+metaSize)
	if _, err := f.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			return &CorruptError{Where: w, Problem: "file ends before it"}
		}
		return fmt.Errorf("boltstore: reading %s: %w", w, err)
	}
	m := b[pageHeaderSize:]
	ne := binary.NativeEndian
	switch {
	case ne.Uint32(m[0:]) != metaMagic:
		return &CorruptError{Where: w, Problem: fmt.Sprintf("magic %08x, want %08x", ne.Uint32(m[0:]), uint32(metaMagic))}
	case ne.Uint32(m[4:]) != metaVersion:
		return &CorruptError{Where: w, Problem: fmt.Sprintf("bbolt version %d, want %d", ne.Uint32(m[4:]), metaVersion)}
	}
	h := fnv.New64a()
	h.Write(m[:metaSumOffset])
	if got, want := ne.Uint64(m[metaSumOffset:]), h.Sum64(); got != want {
		return &CorruptError{Where: w, Problem: fmt.Sprintf("checksum %016x, content sums to %016x (bbolt would fall back to the other meta page: the registry one transaction earlier)", got, want)}
	}
	return nil
}
