package exclusion_test

import (
	"context"
	"errors"
	"image"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// blindEmbedder is a fake embedder of its own model that finds no face.
type blindEmbedder struct{ exclusiontest.Embedder }

func (e *blindEmbedder) Faces(context.Context, image.Image) ([]embed.Face, error) {
	return []embed.Face{}, nil
}

func (e *blindEmbedder) Model() embed.Model { return exclusiontest.Model(64) }

// A registry records the models its faces are enrolled with and refuses
// embedders of any other model: descriptors of two models are not
// comparable, so a mismatch would silently let opted-out faces through.
func TestModelIdentity(t *testing.T) {
	small := &exclusiontest.Embedder{}
	large := &exclusiontest.Embedder{Dim: 512}
	path := filepath.Join(t.TempDir(), "registry.db")
	st, err := boltstore.Create(path, boltstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := exclusion.Create(ctx, st, small, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.Models(); len(got) != 1 || got[0] != small.Model() {
		t.Fatalf("models %v, want [%v]", got, small.Model())
	}
	if _, err := exclusion.NewFilter(reg, large, exclusion.DefaultFilterConfig()); !errors.Is(err, exclusion.ErrModel) {
		t.Errorf("NewFilter with another model: %v, want ErrModel", err)
	}
	req, err := reg.Submit(ctx, faceSubmission(photo(person(3))), "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Approve(ctx, req.ID, "reviewer", ""); err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		emb  embed.Embedder
		cfg  func(*exclusion.Config)
		want error
	}{
		{name: "same model", emb: small},
		{name: "no embedder (review only)", emb: nil},
		{name: "another model", emb: large, want: exclusion.ErrModel},
		{name: "another model among more", emb: small, cfg: func(c *exclusion.Config) { c.MoreEmbedders = []embed.Embedder{large} }, want: exclusion.ErrModel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := boltstore.Open(path, boltstore.Config{})
			if err != nil {
				t.Fatal(err)
			}
			cfg := exclusion.DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			reg, err := exclusion.Open(ctx, st, tc.emb, cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
			if err != nil {
				_ = st.Close()
				return
			}
			defer reg.Close()
			if reg.Len() != 1 {
				t.Errorf("%d faces live, want 1", reg.Len())
			}
		})
	}
}

// A registry enrolled with two models at submission serves Filters of
// either model, each deciding with its own descriptors (of different
// dimensions), and a face one model cannot find is refused, not enrolled
// with half its descriptors.
func TestSeveralModels(t *testing.T) {
	small := &exclusiontest.Embedder{}
	large := &exclusiontest.Embedder{Dim: 512}
	cfg := exclusion.DefaultConfig()
	cfg.MoreEmbedders = []embed.Embedder{large}
	reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), small, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if got := reg.Models(); len(got) != 2 || got[0] != small.Model() || got[1] != large.Model() {
		t.Fatalf("models %v", got)
	}
	req, err := reg.Submit(ctx, faceSubmission(photo(person(7))), "test")
	if err != nil {
		t.Fatal(err)
	}
	ds := req.Photos[0].Faces[0].Descriptors
	if len(ds[small.Model().ID]) != 128 || len(ds[large.Model().ID]) != 512 {
		t.Fatalf("descriptor lengths %d and %d, want 128 and 512", len(ds[small.Model().ID]), len(ds[large.Model().ID]))
	}
	if _, err := reg.Approve(ctx, req.ID, "reviewer", ""); err != nil {
		t.Fatal(err)
	}
	for _, emb := range []*exclusiontest.Embedder{small, large} {
		f := newFilter(t, reg, emb)
		wantVerdict(t, f.CheckImageBytes(ctx, photo(at(person(7), 60, 40))), exclusion.Block, req.ID)
		wantVerdict(t, f.CheckImageBytes(ctx, photo(person(8))), exclusion.Allow)
		wrong := exclusiontest.DescriptorDim(exclusiontest.Person(7), 32)
		if d := f.CheckFaces(ctx, []embed.Descriptor{wrong}); d.Verdict != exclusion.Unchecked {
			t.Errorf("%s: a descriptor of the wrong length gives %v, want unchecked", emb.Model(), d.Verdict)
		}
	}

	cfg.MoreEmbedders = []embed.Embedder{&blindEmbedder{}}
	reg2, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), small, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer reg2.Close()
	_, err = reg2.Submit(ctx, faceSubmission(photo(person(7))), "test")
	var ve *exclusion.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("a face the second model misses: %v, want a validation error", err)
	}
	t.Log(err)
}
