package index

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ID identifies an enrolled vector. It is chosen by the caller.
type ID uint64

// Result is one hit of a search: the id and its Euclidean distance to the query.
type Result struct {
	ID       ID
	Distance float32
}

// Errors returned by the package. Callers test them with errors.Is.
var (
	// ErrDim means a vector or query does not have the index's dimension.
	ErrDim = errors.New("index: dimension mismatch")
	// ErrDuplicate means Add was given an id that is already present.
	ErrDuplicate = errors.New("index: duplicate id")
	// ErrInvalidVector means a vector or query holds NaN or ±Inf.
	ErrInvalidVector = errors.New("index: vector holds NaN or Inf")
	// ErrInvalidArgument means a k, radius or configuration value is out of range.
	ErrInvalidArgument = errors.New("index: invalid argument")
	// ErrFormat means a file is not an index file, or is corrupt or truncated.
	ErrFormat = errors.New("index: bad file format")
	// ErrChecksum means a section of an index file failed its CRC32-C check.
	ErrChecksum = errors.New("index: checksum mismatch")
	// ErrFull means the index reached its internal capacity (2^32-1 nodes).
	ErrFull = errors.New("index: full")
)

// Searcher is what *Flat, *HNSW and *Index have in common. It is declared here
// only to document and test the shared contract; consumers should declare the
// smaller interface they need.
type Searcher interface {
	Add(id ID, v []float32) error
	Delete(id ID) bool
	Len() int
	Dim() int
	Search(q []float32, k int, dst []Result) ([]Result, error)
	Within(q []float32, r float32, dst []Result) ([]Result, error)
	WithinBatch(qs [][]float32, r float32) ([][]Result, error)
	Exact() bool
}

var (
	_ Searcher = (*Flat)(nil)
	_ Searcher = (*HNSW)(nil)
	_ Searcher = (*Index)(nil)
)

// checkVector validates the dimension and finiteness of v.
func checkVector(v []float32, dim int) error {
	if len(v) != dim {
		return fmt.Errorf("%w: got %d, want %d", ErrDim, len(v), dim)
	}
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return ErrInvalidVector
		}
	}
	return nil
}

func checkRadius(r float32) error {
	if !(r >= 0) || math.IsInf(float64(r), 0) {
		return fmt.Errorf("%w: radius %v", ErrInvalidArgument, r)
	}
	return nil
}

// sortResults orders results nearest first, ties by id, so answers are
// deterministic.
func sortResults(rs []Result) {
	slices.SortFunc(rs, func(a, b Result) int {
		switch {
		case a.Distance < b.Distance:
			return -1
		case a.Distance > b.Distance:
			return 1
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
}
