package exclusion

import (
	"slices"
	"sync"

	"github.com/faceoptout/faceoptout/embed"
)

// flatIndex is the registry's exact in-memory index of approved faces: a
// linear scan answers "every face within r". It is safe for concurrent use.
type flatIndex struct {
	mu   sync.RWMutex // guards ids, vecs, pos
	ids  []uint64
	vecs []embed.Descriptor
	pos  map[uint64]int // id -> position in ids and vecs
}

type hit struct {
	id   uint64
	dist float64
}

func newFlatIndex() *flatIndex { return &flatIndex{pos: map[uint64]int{}} }

func (x *flatIndex) add(id uint64, d *embed.Descriptor) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if i, ok := x.pos[id]; ok {
		x.vecs[i] = *d
		return
	}
	x.pos[id] = len(x.ids)
	x.ids = append(x.ids, id)
	x.vecs = append(x.vecs, *d)
}

func (x *flatIndex) delete(id uint64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	i, ok := x.pos[id]
	if !ok {
		return false
	}
	last := len(x.ids) - 1
	x.ids[i], x.vecs[i] = x.ids[last], x.vecs[last]
	x.pos[x.ids[i]] = i
	x.ids, x.vecs = x.ids[:last], x.vecs[:last]
	delete(x.pos, id)
	return true
}

func (x *flatIndex) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.ids)
}

// within returns every face within r of q, nearest first.
func (x *flatIndex) within(q *embed.Descriptor, r float64) []hit {
	r2 := float32(r * r)
	x.mu.RLock()
	var out []hit
	for i := range x.vecs {
		v := &x.vecs[i]
		var s float32
		for j := range v {
			d := v[j] - q[j]
			s += d * d
		}
		if s <= r2*1.0001 {
			out = append(out, hit{x.ids[i], q.Distance(v)})
		}
	}
	x.mu.RUnlock()
	out = slices.DeleteFunc(out, func(h hit) bool { return h.dist > r })
	slices.SortFunc(out, func(a, b hit) int {
		switch {
		case a.dist < b.dist:
			return -1
		case a.dist > b.dist:
			return 1
		}
		return 0
	})
	return out
}
