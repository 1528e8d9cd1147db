package index

// gather sets out[i] to the squared Euclidean distance between q and row
// ids[i] of base (rows of len(q) floats), for every i < len(ids). It is the
// inner loop of graph search: the AVX2+FMA kernel prefetches the rows ahead
// of the one it sums, so the cache misses of a scattered neighbour list
// overlap. The sums are in a different order than dist's; callers that
// compare with a radius re-check near the boundary with dist.
func gather(q, base []float32, ids []uint32, out []float32) {
	dim := len(q)
	out = out[:len(ids)]
	if len(ids) == 0 {
		return
	}
	if useGather && dim%16 == 0 {
		for _, id := range ids {
			_ = base[int(id)*dim+dim-1] // bounds: the kernel trusts ids
		}
		gatherAVX2(&q[0], &base[0], dim, &ids[0], len(ids), &out[0])
		return
	}
	for i, id := range ids {
		out[i] = sqDist(q, base[int(id)*dim:int(id)*dim+dim])
	}
}

// sqDist is the portable squared distance gather falls back on.
func sqDist(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	b = b[:len(a)]
	i := 0
	for ; i+4 <= len(a); i += 4 {
		d0 := a[i] - b[i]
		d1 := a[i+1] - b[i+1]
		d2 := a[i+2] - b[i+2]
		d3 := a[i+3] - b[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(a); i++ {
		d := a[i] - b[i]
		s0 += d * d
	}
	return s0 + s1 + s2 + s3
}
