package crawl

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
)

// Entry is one indexed image of the toy search index: where it is, its
// size and SHA-256. Nothing about faces.
type Entry struct {
	Source  Source    `json:"source"`
	Bytes   int       `json:"bytes"`
	SHA256  string    `json:"sha256"`
	Crawled time.Time `json:"crawled"`
}

// Index is a toy search index: the allowed images, kept in memory and
// optionally saved as a JSON file. It is safe for concurrent use.
type Index struct {
	mu      sync.Mutex // guards entries
	entries []Entry
}

// ErrNotAllowed is returned by Index.Add for a result that is not Allow.
var ErrNotAllowed = errors.New("crawl: only allowed images may be indexed")

// Add indexes an allowed result, replacing any entry of the same source.
// Any other verdict gives ErrNotAllowed and stores nothing.
func (x *Index) Add(r Result, now time.Time) error {
	if r.Verdict != exclusion.Allow {
		return fmt.Errorf("%w: %s is %s", ErrNotAllowed, r.Source, r.Verdict)
	}
	e := Entry{Source: r.Source, Bytes: r.Bytes, SHA256: r.SHA256, Crawled: now.UTC()}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.entries = slices.DeleteFunc(x.entries, func(o Entry) bool { return o.Source == r.Source })
	x.entries = append(x.entries, e)
	return nil
}

// Remove deletes the entry of src, for an image a later crawl did not allow.
// It reports whether there was one.
func (x *Index) Remove(src Source) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := len(x.entries)
	x.entries = slices.DeleteFunc(x.entries, func(o Entry) bool { return o.Source == src })
	return len(x.entries) != n
}

// Entries returns a copy of the entries, in the order added.
func (x *Index) Entries() []Entry {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.entries)
}

// Len returns the number of entries.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.entries)
}

// indexFile is the JSON layout of a saved index.
type indexFile struct {
	Format  string  `json:"format"`
	Entries []Entry `json:"entries"`
}

const indexFormat = "faceoptout-example-index/1"

// LoadIndex reads an index file; a missing file is an empty index.
func LoadIndex(path string) (*Index, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Index{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("crawl: %w", err)
	}
	var f indexFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("crawl: index %s: %w", path, err)
	}
	if f.Format != indexFormat {
		return nil, fmt.Errorf("crawl: index %s: format %q, want %q", path, f.Format, indexFormat)
	}
	return &Index{entries: f.Entries}, nil
}

// Save writes the index to path atomically (a temporary file, fsync,
// rename).
func (x *Index) Save(path string) error {
	b, err := json.MarshalIndent(indexFile{Format: indexFormat, Entries: x.Entries()}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".index-*.json")
	if err != nil {
		return fmt.Errorf("crawl: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("crawl: saving index: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("crawl: saving index: %w", err)
	}
	return nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
