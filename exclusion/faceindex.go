package exclusion

import (
	"fmt"
	"runtime"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/index"
)

// IndexConfig says which index answers a registry's face searches (one
// index per model). Its zero value is the default: exact at every size.
//
// An exact index (index.Flat) returns every enrolled face within the
// decision radius; a check costs time in proportion to the faces. An HNSW
// graph costs far less per check at large sizes but may miss a face within
// the radius, and a missed face lets an opted-out face through (a Block is
// never wrong either way: candidates carry true distances). The default
// stays exact because at the dlib decision radius (0.6) the graph either
// misses faces or, searched widely enough not to, is no faster than the
// exact scan (index/BENCHMARKS.md measures both, with the command).
type IndexConfig struct {
	// ApproximateAbove, when positive, lets an HNSW graph answer the face
	// searches of a model once its live faces exceed this many
	// (index.ModeAuto with ExactUpTo = ApproximateAbove): the graph is then
	// built in the background from a copy of the faces while the exact
	// index goes on answering, and replaces it when built (see
	// index.Index). 0 keeps every search exact (index.ModeExact); negative
	// values are an error.
	//
	// A replica's snapshot (ReplicaConfig.Snapshot) holds the live faces'
	// descriptors, never the graph: a replica that starts from one above
	// ApproximateAbove answers exactly at once and builds its graph in the
	// background, and so does a registry opened from its store. The build
	// takes the cores a check would use and, at its peak, memory for the
	// exact index, a copy of its rows and the graph together.
	ApproximateAbove int
	// HNSW configures that graph; zero fields mean
	// index.DefaultHNSWConfig's (the dimension is the model's), except
	// Workers: 0 builds on half of GOMAXPROCS (at least one goroutine), so
	// that checks keep the other cores while the graph builds beside them.
	HNSW index.HNSWConfig
}

// indexConfig returns the index.Config of a gallery of dim numbers.
func (c IndexConfig) indexConfig(dim int) (index.Config, error) {
	if c.ApproximateAbove < 0 {
		return index.Config{}, fmt.Errorf("exclusion: IndexConfig.ApproximateAbove %d is negative", c.ApproximateAbove)
	}
	ic := index.Config{Dim: dim, Mode: index.ModeExact, HNSW: c.HNSW}
	if ic.HNSW.Workers == 0 {
		ic.HNSW.Workers = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if c.ApproximateAbove > 0 {
		ic.Mode, ic.ExactUpTo = index.ModeAuto, c.ApproximateAbove
	}
	return ic, nil
}

// faceIndex holds a gallery's faces in an index.Index: exact (index.Flat)
// by default, or switching to an HNSW graph above a size (IndexConfig).
// Either way a hit's distance is the true one. It is safe for concurrent
// use.
type faceIndex struct {
	x *index.Index
}

type hit struct {
	id   uint64
	dist float64
}

func newFaceIndex(dim int, cfg IndexConfig) (*faceIndex, error) {
	ic, err := cfg.indexConfig(dim)
	if err != nil {
		return nil, err
	}
	x, err := index.New(ic)
	if err != nil {
		return nil, fmt.Errorf("exclusion: face index: %w", err)
	}
	return &faceIndex{x: x}, nil
}

func (f *faceIndex) add(id uint64, d embed.Descriptor) error {
	if err := f.x.Add(index.ID(id), d); err != nil {
		return fmt.Errorf("exclusion: indexing face %d: %w", id, err)
	}
	return nil
}

// adoptBatch adds the faces ids, whose descriptors are the rows of data
// (dim numbers each, contiguous): all of them or none. The index may keep
// data as its storage: the caller must not use it afterwards.
func (f *faceIndex) adoptBatch(ids []uint64, data []float32) error {
	xs := make([]index.ID, len(ids))
	for i, id := range ids {
		xs[i] = index.ID(id)
	}
	if err := f.x.AdoptBatch(xs, data); err != nil {
		return fmt.Errorf("exclusion: indexing %d faces: %w", len(ids), err)
	}
	return nil
}

// vector returns a copy of face id's descriptor, nil if absent.
func (f *faceIndex) vector(id uint64) embed.Descriptor {
	v, _ := f.x.Vector(index.ID(id), nil)
	return v
}

// appendVector appends face id's descriptor to dst.
func (f *faceIndex) appendVector(id uint64, dst []float32) ([]float32, bool) {
	return f.x.Vector(index.ID(id), dst)
}

// appendRows appends every face id and descriptor in the index to ids and
// data, in storage order (row i of the appended data belongs to the i-th
// appended id), with one memory move each while the index is exact (one
// per face once a graph answers).
func (f *faceIndex) appendRows(ids []index.ID, data []float32) ([]index.ID, []float32) {
	return f.x.AppendRows(ids, data)
}

func (f *faceIndex) delete(id uint64) bool { return f.x.Delete(index.ID(id)) }

func (f *faceIndex) len() int { return f.x.Len() }

func (f *faceIndex) dim() int { return f.x.Dim() }

// status reports which index answers and the progress of a graph build.
func (f *faceIndex) status() index.Status { return f.x.Status() }

// close stops a graph build in progress; the index keeps answering.
func (f *faceIndex) close() { _ = f.x.Close() }

// within returns the faces within r of q, nearest first: every one while
// the index is exact, possibly not all once a graph answers.
func (f *faceIndex) within(q embed.Descriptor, r float64) ([]hit, error) {
	res, err := f.x.Within(q, float32(r), nil)
	if err != nil {
		return nil, fmt.Errorf("exclusion: searching faces: %w", err)
	}
	out := make([]hit, len(res))
	for i, h := range res {
		out[i] = hit{id: uint64(h.ID), dist: float64(h.Distance)}
	}
	return out, nil
}
