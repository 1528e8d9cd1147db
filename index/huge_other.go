//go:build !linux

package index

// adviseHuge does nothing outside Linux.
func adviseHuge[T any](s []T) {}
