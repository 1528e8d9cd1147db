package main

import (
	"slices"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// TestFaceSet checks that both face sets draw each identity's faces from the
// identity alone (the parent and the child of `replicas start` agree), and
// that dlib-like probes of an enrolled person mostly fall within dlib's
// threshold of the enrolled face while strangers mostly do not.
func TestFaceSet(t *testing.T) {
	faces := testenv.Faces(t)
	tests := []struct {
		name string
		kind string
		// want: fraction of probes within the threshold, enrolled and strangers
		minSame, maxStrangers float64
	}{
		{"stand-in", facesStandIn, 1, 0},
		{"facesim", facesFacesim, 0.8, 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := newFaceSet(tt.kind, faces, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := newFaceSet(tt.kind, faces, nil)
			if err != nil {
				t.Fatal(err)
			}
			const n = 200
			same, strangers := 0, 0
			for i := range n {
				e := a.enrolled(i)
				if !slices.Equal(e, b.enrolled(i)) || !slices.Equal(a.probe(i, false), b.probe(i, false)) || !slices.Equal(a.probe(i, true), b.probe(i, true)) {
					t.Fatalf("identity %d: two face sets draw different faces", i)
				}
				if len(e) != embed.DlibDim || !e.Finite() {
					t.Fatalf("identity %d: a descriptor of %d numbers", i, len(e))
				}
				if e.Distance(a.probe(i, false)) <= embed.DlibThreshold {
					same++
				}
				for j := range 5 {
					if a.enrolled(j).Distance(a.probe(i, true)) <= embed.DlibThreshold {
						strangers++
					}
				}
			}
			if got := float64(same) / n; got < tt.minSame {
				t.Errorf("%.3f of enrolled people's probes within the threshold, want >= %.3f", got, tt.minSame)
			}
			if got := float64(strangers) / (5 * n); got > tt.maxStrangers {
				t.Errorf("%.3f of stranger pairs within the threshold, want <= %.3f", got, tt.maxStrangers)
			}
		})
	}
	if _, err := newFaceSet("dlib", faces, nil); err == nil {
		t.Error(`newFaceSet("dlib") succeeded`)
	}
}
