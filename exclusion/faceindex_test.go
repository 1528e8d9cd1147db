package exclusion

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/index"
)

func TestIndexConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     IndexConfig
		mode    index.Mode
		upTo    int
		wantErr bool
	}{
		{"zero is exact at every size", IndexConfig{}, index.ModeExact, 0, false},
		{"approximate above a size", IndexConfig{ApproximateAbove: 50}, index.ModeAuto, 50, false},
		{"negative", IndexConfig{ApproximateAbove: -1}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ic, err := tt.cfg.indexConfig(128)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (ic.Mode != tt.mode || ic.Dim != 128 || (tt.upTo != 0 && ic.ExactUpTo != tt.upTo) ||
				ic.HNSW.Workers != max(1, runtime.GOMAXPROCS(0)/2)) {
				t.Fatalf("index config %+v", ic)
			}
			if _, err := newRegistry(nullStore{}, nil, Config{Index: tt.cfg}); (err != nil) != tt.wantErr {
				t.Fatalf("newRegistry: %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

// approxRegistry returns a registry whose one 128-number model switches to
// HNSW above upTo faces, its live set loaded from a snapshot of n one-face
// requests (as a replica starts), and the faces' descriptors.
func approxRegistry(t *testing.T, n, upTo int) (*Registry, [][]float32) {
	t.Helper()
	models := []embed.Model{{Name: "m", Dim: 128, ID: "abc", Threshold: 0.6}}
	s := &snapshot{Seq: 1, Created: time.Unix(1, 0).UTC(), Models: models, faces: make([][]EnrolledFace, 1), data: make([][]float32, 1)}
	rng := rand.New(rand.NewPCG(3, 3))
	vs := make([][]float32, n)
	for i := range n {
		id := fmt.Sprintf("R%025d", i)
		s.reqs = append(s.reqs, &liveReq{id: id, decided: s.Created, nfaces: 1})
		vs[i] = make([]float32, 128)
		for j := range vs[i] {
			vs[i][j] = float32(rng.NormFloat64()) / 11 // about unit length, as dlib's
		}
		s.data[0] = append(s.data[0], vs[i]...)
		s.faces[0] = append(s.faces[0], EnrolledFace{RequestID: id, Quality: embed.Quality{Size: 80, Score: 1}})
	}
	reg, err := newRegistry(nullStore{}, nil, Config{Index: IndexConfig{ApproximateAbove: upTo}})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.setModels(models); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.gallery(0).close() }) // the null store has no Close
	if err := reg.installSnapshot(s); err != nil {
		t.Fatal(err)
	}
	return reg, vs
}

// TestGalleryApproximateAboveSize loads a live set above ApproximateAbove:
// the exact index answers while the graph builds in the background, and
// the graph, once it answers, still finds every face at its own
// descriptor with its true distance.
func TestGalleryApproximateAboveSize(t *testing.T) {
	reg, vs := approxRegistry(t, 300, 100)
	g := reg.gallery(0)
	check := func(stage string) {
		t.Helper()
		for i, v := range vs {
			cs, err := g.candidates(v, 0.6, false, time.Unix(2, 0), func(uint64, embed.Descriptor) float64 { return 0 })
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) == 0 || cs[0].RequestID != fmt.Sprintf("R%025d", i) || cs[0].Distance != 0 {
				t.Fatalf("%s: face %d: candidates %+v", stage, i, cs)
			}
		}
	}
	if st := reg.IndexStatus(); len(st) != 1 || st[0].Len != 300 || (!st[0].Exact && st[0].Building) {
		t.Fatalf("after the load: %+v", st)
	}
	check("while the graph builds")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := g.idx.x.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if st := reg.IndexStatus(); st[0].Exact || st[0].Kind != "hnsw" || st[0].Len != 300 {
		t.Fatalf("after the build: %+v", st)
	}
	check("from the graph")
}

// TestRegistryDefaultIndexExact checks that the zero Config keeps the
// index exact above any size a graph would take over at.
func TestRegistryDefaultIndexExact(t *testing.T) {
	reg, err := newRegistry(nullStore{}, nil, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.setModels([]embed.Model{{Name: "m", Dim: 4, ID: "abc"}}); err != nil {
		t.Fatal(err)
	}
	if c := reg.gallery(0).idx.x.Config(); c.Mode != index.ModeExact {
		t.Fatalf("default index mode %v", c.Mode)
	}
}
