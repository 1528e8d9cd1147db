package evaluation

import (
	"testing"

	"github.com/faceoptout/faceoptout/embed"
)

// TestPartitionEnrolsExtra: an enrolled photo enrols its Extra descriptors
// beside its own, with its quality; a probe is described once.
func TestPartitionEnrolsExtra(t *testing.T) {
	s := &Set{Name: "extra"}
	for p, person := range []string{"a", "b", "c"} {
		for i := range 2 {
			d := embed.Descriptor{float32(p), float32(i)}
			s.Faces = append(s.Faces, Face{Person: person, Descriptor: d,
				Quality: embed.Quality{Size: 100 + p}, Extra: []embed.Descriptor{{float32(p), 0.5}, {float32(p), 0.25}}})
		}
	}
	splits, err := Protocol{Enrolled: 2, PerPerson: 1, Splits: 3, Seed: 1}.Partition(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, sp := range splits {
		for _, e := range sp.Enrolled {
			if len(e.Faces) != 3 || len(e.Qualities) != 3 {
				t.Fatalf("split %d: %s enrols %d faces, %d qualities; want 3", i, e.Person, len(e.Faces), len(e.Qualities))
			}
			if e.Faces[1][1] != 0.5 || e.Faces[2][1] != 0.25 || e.Qualities[2] != e.Qualities[0] {
				t.Errorf("split %d: %s enrols %v %v", i, e.Person, e.Faces, e.Qualities)
			}
		}
		if len(sp.Probes) != 2+2 {
			t.Errorf("split %d: %d probes, want 4 (one mated per enrolled person, two of the stranger)", i, len(sp.Probes))
		}
	}
}
