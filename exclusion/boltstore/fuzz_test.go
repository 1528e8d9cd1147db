package boltstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// FuzzOpen opens arbitrary bytes as a store file, and as a registry: it
// must never panic nor fault, every refusal must wrap exclusion.ErrCorrupt
// or ErrNoRegistry (or be bbolt's refusal of a file that is no bbolt file),
// and a file that opens must serve its requests without error. Seeds: an
// empty store, an initialised one and one holding requests.
func FuzzOpen(f *testing.F) {
	ctx := context.Background()
	dir := f.TempDir()
	for i, n := range []int{-1, 0, 3} {
		p := filepath.Join(dir, "seed"+string(rune('a'+i))+".db")
		st, err := Create(p, Config{})
		if err != nil {
			f.Fatal(err)
		}
		if n >= 0 {
			reg, err := exclusion.Create(ctx, st, &exclusiontest.Embedder{}, exclusion.DefaultConfig())
			if err != nil {
				f.Fatal(err)
			}
			for j := range n {
				if _, err := reg.Submit(ctx, submission(j), "t"); err != nil {
					f.Fatal(err)
				}
			}
			reg.Close()
		}
		st.Close()
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "fuzz.db")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := Open(p, Config{Timeout: 1})
		if err != nil {
			return
		}
		defer st.Close()
		reg, err := exclusion.Open(ctx, st, &exclusiontest.Embedder{}, exclusion.DefaultConfig())
		if err != nil {
			if !errors.Is(err, exclusion.ErrCorrupt) && !errors.Is(err, exclusion.ErrNoRegistry) {
				t.Fatalf("registry refused without ErrCorrupt or ErrNoRegistry: %v", err)
			}
			return
		}
		defer reg.Close()
		if _, err := contents(reg); err != nil {
			t.Fatalf("an opened registry fails to read: %v", err)
		}
	})
}
