package exclusion

import (
	"fmt"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/index"
)

// flatIndex holds approved faces in an exact index.Flat: a range search
// answers "every face within r" without ever missing one, which an opt-out
// filter needs (an approximate index could let an opted-out face through).
// It is safe for concurrent use.
type flatIndex struct {
	x *index.Flat
}

type hit struct {
	id   uint64
	dist float64
}

func newFlatIndex(dim int) (*flatIndex, error) {
	cfg := index.DefaultFlatConfig()
	cfg.Dim = dim
	x, err := index.NewFlat(cfg)
	if err != nil {
		return nil, fmt.Errorf("exclusion: face index: %w", err)
	}
	return &flatIndex{x: x}, nil
}

func (f *flatIndex) add(id uint64, d embed.Descriptor) error {
	if err := f.x.Add(index.ID(id), d); err != nil {
		return fmt.Errorf("exclusion: indexing face %d: %w", id, err)
	}
	return nil
}

// adoptBatch adds the faces ids, whose descriptors are the rows of data
// (dim numbers each, contiguous): all of them or none. The index may keep
// data as its storage: the caller must not use it afterwards.
func (f *flatIndex) adoptBatch(ids []uint64, data []float32) error {
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
func (f *flatIndex) vector(id uint64) embed.Descriptor {
	v, _ := f.x.Vector(index.ID(id), nil)
	return v
}

// appendVector appends face id's descriptor to dst.
func (f *flatIndex) appendVector(id uint64, dst []float32) ([]float32, bool) {
	return f.x.Vector(index.ID(id), dst)
}

// appendRows appends every face id and descriptor in the index to ids and
// data, in storage order (row i of the appended data belongs to the i-th
// appended id), with one memory move each.
func (f *flatIndex) appendRows(ids []index.ID, data []float32) ([]index.ID, []float32) {
	return f.x.AppendRows(ids, data)
}

func (f *flatIndex) delete(id uint64) bool { return f.x.Delete(index.ID(id)) }

func (f *flatIndex) len() int { return f.x.Len() }

func (f *flatIndex) dim() int { return f.x.Dim() }

// within returns every face within r of q, nearest first.
func (f *flatIndex) within(q embed.Descriptor, r float64) ([]hit, error) {
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
