package index

// makeHuge returns a slice of length n for large, randomly read arrays
// (vectors, neighbour lists), advised for huge pages before it is written.
func makeHuge[T any](n int) []T {
	s := make([]T, n)
	adviseHuge(s)
	return s
}

// growHuge returns s with room for n more elements. A new backing array is
// advised for huge pages before the old contents are copied in.
func growHuge[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	c := max(len(s)+n, 2*cap(s), 64)
	t := make([]T, len(s), c)
	adviseHuge(t)
	copy(t, s)
	return t
}
