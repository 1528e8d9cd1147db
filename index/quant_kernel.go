package index

// Integer dot-product kernels of the int8 shadow scan (see quant.go). The
// rows are int8 codes with a stride that is a multiple of 16; the queries
// are the same codes widened to int16. The AVX2 versions are in
// quant_amd64.s; dots1Generic and dots4Generic are the portable reference
// used on other CPUs and for the tails the assembly does not cover.

// dots1 sets out[i] = Σ_j q[j]·rows[i*stride+j] for i < n.
func dots1(q []int16, rows []int8, stride, n int, out []int32) {
	if n <= 0 {
		return
	}
	q, rows, out = q[:stride], rows[:n*stride], out[:n]
	done := 0
	if useAVX2 && stride%16 == 0 {
		done = n &^ 3
		if done > 0 {
			dots1AVX2(&q[0], &rows[0], stride, done, &out[0])
		}
	}
	dots1Generic(q, rows[done*stride:], stride, n-done, out[done:])
}

// dots4 sets out[4*i+k] = Σ_j q[k*stride+j]·rows[i*stride+j] for i < n and
// the four queries k < 4 held back to back in q.
func dots4(q []int16, rows []int8, stride, n int, out []int32) {
	if n <= 0 {
		return
	}
	q, rows, out = q[:4*stride], rows[:n*stride], out[:4*n]
	done := 0
	if useAVX2 && stride%16 == 0 {
		done = n &^ 1
		if done > 0 {
			dots4AVX2(&q[0], &rows[0], stride, done, &out[0])
		}
	}
	dots4Generic(q, rows[done*stride:], stride, n-done, out[4*done:])
}

func dots1Generic(q []int16, rows []int8, stride, n int, out []int32) {
	q = q[:stride]
	for i := range n {
		r := rows[i*stride : (i+1)*stride]
		var s0, s1 int32
		j := 0
		for ; j+2 <= stride; j += 2 {
			s0 += int32(q[j]) * int32(r[j])
			s1 += int32(q[j+1]) * int32(r[j+1])
		}
		for ; j < stride; j++ {
			s0 += int32(q[j]) * int32(r[j])
		}
		out[i] = s0 + s1
	}
}

func dots4Generic(q []int16, rows []int8, stride, n int, out []int32) {
	q0, q1, q2, q3 := q[:stride], q[stride:2*stride], q[2*stride:3*stride], q[3*stride:4*stride]
	for i := range n {
		r := rows[i*stride : (i+1)*stride]
		var s0, s1, s2, s3 int32
		for j, c := range r {
			x := int32(c)
			s0 += int32(q0[j]) * x
			s1 += int32(q1[j]) * x
			s2 += int32(q2[j]) * x
			s3 += int32(q3[j]) * x
		}
		o := out[4*i : 4*i+4]
		o[0], o[1], o[2], o[3] = s0, s1, s2, s3
	}
}
