package boltstore_test

import (
	"context"
	"errors"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

func TestOpenMissingOrExisting(t *testing.T) {
	dir := t.TempDir()
	_, err := boltstore.Open(filepath.Join(dir, "typo.db"), boltstore.Config{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open of a missing file: %v", err)
	}
	p := filepath.Join(dir, "r.db")
	s, err := boltstore.Create(p, boltstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := boltstore.Create(p, boltstore.Config{}); !errors.Is(err, os.ErrExist) {
		t.Fatalf("Create over an existing file: %v", err)
	}
	// A created file never initialised as a registry is no registry.
	s, err = boltstore.Open(p, boltstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := exclusion.Open(context.Background(), s, nil, exclusion.DefaultConfig()); !errors.Is(err, exclusion.ErrNoRegistry) {
		t.Fatalf("Open of an uninitialised store: %v", err)
	}
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("this is not a bbolt file, but it is long enough to look like one maybe"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := boltstore.Open(junk, boltstore.Config{}); err == nil {
		s.Close()
		t.Fatal("opened a junk file")
	}
}

// TestCorruptFile flips random bytes of a registry file, many times: opening
// it must give an error or a registry whose every record checks out; it
// must never panic nor return wrong data silently.
func TestCorruptFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.db")
	st, err := boltstore.Create(orig, boltstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	emb := &exclusiontest.Embedder{}
	reg, err := exclusion.Create(ctx, st, emb, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		data := exclusiontest.PNG(exclusiontest.Image(160, 160, exclusiontest.Face{Box: image.Rect(20, 20, 140, 140), Color: exclusiontest.Person(i)}))
		req, err := reg.Submit(ctx, &exclusion.Submission{
			Kind: exclusion.FaceOptOut, Country: "IT", Reason: "r", Name: "n", Email: "n@example.it", Phone: "+393123456789",
			Photos: []exclusion.Photo{{Data: data}},
		}, "t")
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := reg.Approve(ctx, req.ID, "t", ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	reg.Close()
	clean, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	opened, failed := 0, 0
	for round := range 200 {
		b := append([]byte(nil), clean...)
		for range 1 + rng.IntN(4) {
			b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
		}
		p := filepath.Join(dir, "c.db")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		func() {
			s, err := boltstore.Open(p, boltstore.Config{})
			if err != nil {
				failed++
				return
			}
			defer s.Close()
			r, err := exclusion.Open(ctx, s, emb, exclusion.DefaultConfig())
			if err != nil {
				failed++
				return
			}
			defer r.Close()
			opened++
			if r.Len() != 10 {
				t.Errorf("round %d: a corrupt file opened with %d faces, want 10", round, r.Len())
			}
		}()
	}
	t.Logf("200 corrupted copies: %d opened intact (flipped bytes in free space), %d refused", opened, failed)
}
