package index

import "math"

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// cand is a search candidate: an internal node (or row) and its distance.
type cand struct {
	d float32
	n uint32
}

// maxHeap keeps the farthest candidate on top. It is a plain slice so that it
// can live in pooled scratch space without allocation.
type maxHeap []cand

func (h *maxHeap) push(c cand) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !(s[p].d < s[i].d || (s[p].d == s[i].d && s[p].n < s[i].n)) {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h maxHeap) top() cand { return h[0] }

func (h *maxHeap) pop() cand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	*h = s
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && (s[r].d > s[l].d || (s[r].d == s[l].d && s[r].n > s[l].n)) {
			m = r
		}
		if !(s[m].d > s[i].d || (s[m].d == s[i].d && s[m].n > s[i].n)) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	return top
}

// minHeap keeps the nearest candidate on top.
type minHeap []cand

func (h *minHeap) push(c cand) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !(s[i].d < s[p].d) {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h minHeap) top() cand { return h[0] }

func (h *minHeap) pop() cand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	*h = s
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && s[r].d < s[l].d {
			m = r
		}
		if !(s[m].d < s[i].d) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	return top
}
