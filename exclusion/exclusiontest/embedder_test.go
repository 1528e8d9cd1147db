package exclusiontest_test

import (
	"testing"

	"github.com/faceoptout/faceoptout/embed"

	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// TestPersonDescriptorsDistinct checks that the fake embedder gives every
// Person its own descriptor, far from every other's: tests that enrol one
// person and probe with another rely on it.
func TestPersonDescriptorsDistinct(t *testing.T) {
	const people = 64
	ds := make([]embed.Descriptor, people)
	for i := range ds {
		ds[i] = exclusiontest.Descriptor(exclusiontest.Person(i))
	}
	for i := range ds {
		for j := i + 1; j < len(ds); j++ {
			// Random unit vectors of DefaultDim are about sqrt(2) apart.
			if d := ds[i].Distance(ds[j]); d < 0.9 {
				t.Errorf("Person(%d) and Person(%d) are %.3f apart", i, j, d)
			}
		}
	}
}
