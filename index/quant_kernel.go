package index

// Kernels of the shadow scan (see quant.go). Rows are uint8 codes (the
// signed code plus 128) with a stride that is a multiple of 32; queries are
// int8 codes in [-63, 63], so that VPMADDUBSW's pairwise int16 sums cannot
// saturate (255·63·2 < 32767). A row is kept for a query when
// norms[row] − 4·Σ_j q[j]·rows[row][j] <= lim. The AVX2 versions are in
// quant_amd64.s; the generic ones are the reference, used on other CPUs
// and for the rows the assembly leaves over.

// scan1 sets bit b of out[g] when row 4g+b (< n) is kept for q.
func scan1(q []int8, rows []uint8, stride, n int, norms []int32, lim int32, out []uint8) {
	if n <= 0 {
		return
	}
	q, rows, norms, out = q[:stride], rows[:n*stride], norms[:n], out[:(n+3)/4]
	done := 0
	if useAVX2 && stride%32 == 0 {
		done = n &^ 3
		if done > 0 {
			scan1AVX2(&q[0], &rows[0], stride, done, &norms[0], lim, &out[0])
		}
	}
	clear(out[done/4:])
	for i := done; i < n; i++ {
		if norms[i]-4*dotU8(q, rows[i*stride:(i+1)*stride]) <= lim {
			out[i/4] |= 1 << (i % 4)
		}
	}
}

// scan4 sets bit k of out[i] when row i (< n) is kept for query k, the
// four queries held back to back in q (stride each).
func scan4(q []int8, rows []uint8, stride, n int, norms []int32, lim *[4]int32, out []uint8) {
	if n <= 0 {
		return
	}
	q, rows, norms, out = q[:4*stride], rows[:n*stride], norms[:n], out[:n]
	done := 0
	if useAVX2 && stride%32 == 0 {
		done = n &^ 1
		if done > 0 {
			scan4AVX2(&q[0], &rows[0], stride, done, &norms[0], &lim[0], &out[0])
		}
	}
	for i := done; i < n; i++ {
		row := rows[i*stride : (i+1)*stride]
		var m uint8
		for k := range 4 {
			if norms[i]-4*dotU8(q[k*stride:(k+1)*stride], row) <= lim[k] {
				m |= 1 << k
			}
		}
		out[i] = m
	}
}

// dotU8 returns Σ_j q[j]·row[j].
func dotU8(q []int8, row []uint8) int32 {
	q = q[:len(row)]
	if useAVX2 && len(row) > 0 && len(row)%32 == 0 {
		return dotU8AVX2(&q[0], &row[0], len(row))
	}
	return dotU8Go(q, row)
}

// dotU8Go is the portable dotU8.
func dotU8Go(q []int8, row []uint8) int32 {
	q = q[:len(row)]
	var s0, s1 int32
	j := 0
	for ; j+2 <= len(row); j += 2 {
		s0 += int32(q[j]) * int32(row[j])
		s1 += int32(q[j+1]) * int32(row[j+1])
	}
	if j < len(row) {
		s0 += int32(q[j]) * int32(row[j])
	}
	return s0 + s1
}
