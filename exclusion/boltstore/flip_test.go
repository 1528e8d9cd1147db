package boltstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// TestBitFlipEveryPage flips one bit at several places in every page of a
// registry file, one flip per copy, and opens each copy: it must be refused
// with an error wrapping exclusion.ErrCorrupt that says where (a
// *CorruptError, or bbolt's own report wrapped as ErrCorrupt), or open with
// exactly the clean file's requests and audit log (the flip hit a free page
// or the unused end of a page). Never a panic, never different data.
func TestBitFlipEveryPage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.db")
	st, reg := newRegistry(t, clean)
	for i := range 40 {
		req, err := reg.Submit(ctx, submission(i), "t")
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := reg.Approve(ctx, req.ID, "t", ""); err != nil {
				t.Fatal(err)
			}
		}
		if i%5 == 0 {
			if _, err := reg.Withdraw(ctx, req.ID, "t", ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	want, err := contents(reg)
	if err != nil {
		t.Fatal(err)
	}
	ps := st.db.Info().PageSize
	reg.Close()
	st.Close()
	var data []byte
	data, err = os.ReadFile(clean)
	if err != nil {
		t.Fatal(err)
	}
	perPage := 6
	if testing.Short() {
		perPage = 2
	}
	rng := rand.New(rand.NewPCG(16, 16))
	pages := len(data) / ps
	var refused, intact, located int
	for p := range pages {
		for range perPage {
			off := p*ps + rng.IntN(ps)
			bit := byte(1) << rng.IntN(8)
			b := append([]byte(nil), data...)
			b[off] ^= bit
			path := filepath.Join(dir, "flipped.db")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := openContents(path)
			switch {
			case err != nil:
				if !errors.Is(err, exclusion.ErrCorrupt) && !errors.Is(err, exclusion.ErrNoRegistry) {
					t.Fatalf("page %d byte %d bit %#x: refused without ErrCorrupt: %v", p, off, bit, err)
				}
				refused++
				var ce *CorruptError
				if errors.As(err, &ce) {
					located++
				}
			case got != want:
				t.Fatalf("page %d byte %d bit %#x: opened with different contents", p, off, bit)
			default:
				intact++
			}
		}
	}
	t.Logf("%d pages x %d flips: %d refused (%d with a CorruptError saying where), %d opened intact, 0 served different data",
		pages, perPage, refused, located, intact)
}

// openContents opens a store file as a registry and returns its contents.
func openContents(path string) (string, error) {
	st, err := Open(path, Config{})
	if err != nil {
		return "", err
	}
	defer st.Close()
	reg, err := exclusion.Open(context.Background(), st, &exclusiontest.Embedder{}, exclusion.DefaultConfig())
	if err != nil {
		return "", err
	}
	defer reg.Close()
	return contents(reg)
}
