package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/examples/internal/progenv"
	"github.com/faceoptout/faceoptout/internal/facesim"
)

// Face sets of `replicas start`.
const (
	facesFacesim = "facesim" // dlib-like: internal/facesim fitted to the shared idols' dlib descriptors
	facesStandIn = "standin" // idEmbedder's unit vectors, about 1.41 apart
)

// facesimWiden is the between-person widening of the facesim model, as in
// `bench filter` and the index benchmarks (internal/facesim's doc says
// what spread it gives).
const facesimWiden = 7

// faceSet draws the descriptors of `replicas start`: identity i's enrolled
// face, and probes (another photo of an enrolled identity, or a stranger).
// Every descriptor depends on its identity alone, so that the parent (which
// enrols) and the child (which probes) draw the same people.
type faceSet struct {
	kind  string
	model *facesim.Model // facesim only
}

// newFaceSet returns the face set kind; facesim fits its model to
// idols/idols.json in the shared faces directory facesDir ("" means
// progenv's default).
func newFaceSet(kind, facesDir string, env progenv.Getenv) (*faceSet, error) {
	switch kind {
	case facesStandIn:
		return &faceSet{kind: kind}, nil
	case facesFacesim:
	default:
		return nil, fmt.Errorf("-faces %q: want %s or %s", kind, facesFacesim, facesStandIn)
	}
	d, err := facesim.LoadIdols(filepath.Join(progenv.FacesDir(facesDir, env), "idols", "idols.json"))
	if err != nil {
		return nil, fmt.Errorf("-faces facesim: %w (set -faces-dir, or use -faces standin)", err)
	}
	base, err := facesim.Fit(d.Descriptors, d.Labels)
	if err != nil {
		return nil, err
	}
	m, err := base.Widen(facesimWiden)
	if err != nil {
		return nil, err
	}
	if m.Dim() != embed.DlibDim {
		return nil, fmt.Errorf("-faces facesim: descriptors of %d numbers, want %d", m.Dim(), embed.DlibDim)
	}
	return &faceSet{kind: kind, model: m}, nil
}

// strangerBase is the first identity that is never enrolled.
const strangerBase = 1 << 40

// person returns identity id's random source and centre.
func (s *faceSet) person(id int) (*rand.Rand, []float32) {
	rng := rand.New(rand.NewPCG(2026, uint64(id)))
	return rng, s.model.Identity(rng)
}

// enrolled returns the descriptor identity id enrols with.
func (s *faceSet) enrolled(id int) embed.Descriptor {
	if s.model == nil {
		return descriptor(id)
	}
	rng, c := s.person(id)
	return s.model.SampleOf(rng, c)
}

// probe returns a face a crawler meets: another photo of enrolled identity
// id, or (stranger) a photo of the id-th person who never enrolled. With the
// stand-in faces a photo is the enrolled descriptor itself.
func (s *faceSet) probe(id int, stranger bool) embed.Descriptor {
	switch {
	case s.model == nil && stranger:
		return descriptor(1<<23 + id)
	case s.model == nil:
		return descriptor(id)
	case stranger:
		rng, c := s.person(strangerBase + id)
		return s.model.SampleOf(rng, c)
	}
	rng, c := s.person(id)
	_ = s.model.SampleOf(rng, c) // the enrolled photo
	return s.model.SampleOf(rng, c)
}
