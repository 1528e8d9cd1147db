package index_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/faceoptout/faceoptout/index"
)

// savedIndexes writes a small Index of each kind (n vectors, every 7th
// deleted) and returns their paths by mode.
func savedIndexes(t testing.TB, n int) map[string]string {
	t.Helper()
	vs, _ := faces(t, n, 0, 8)
	dir := t.TempDir()
	out := map[string]string{}
	for _, mode := range []index.Mode{index.ModeExact, index.ModeHNSW} {
		c := index.DefaultConfig()
		c.Mode = mode
		c.HNSW.EfConstruction = 40
		x, err := index.New(c)
		if err != nil {
			t.Fatal(err)
		}
		fill(t, x, vs)
		for i := 0; i < n; i += 7 {
			x.Delete(index.ID(i))
		}
		p := filepath.Join(dir, mode.String()+".idx")
		if err := x.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		out[mode.String()] = p
	}
	return out
}

func TestPersistRoundTrip(t *testing.T) {
	_, qs := faces(t, 300, 30, 8)
	vs, _ := faces(t, 300, 0, 8)
	for mode, p := range savedIndexes(t, 300) {
		t.Run(mode, func(t *testing.T) {
			x, err := index.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			want := 300 - (300+6)/7
			if x.Len() != want || x.Exact() != (mode == "exact") {
				t.Fatalf("Len %d Exact %v, want %d %v", x.Len(), x.Exact(), want, mode == "exact")
			}
			// The loaded index answers like one built afresh from the
			// live vectors (the graph itself is identical, so exactly).
			p2 := filepath.Join(t.TempDir(), "again.idx")
			if err := x.WriteFile(p2); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(p)
			b, _ := os.ReadFile(p2)
			if !slices.Equal(a, b) {
				t.Error("write(load(file)) differs from file")
			}
			for _, q := range qs {
				rs, err := x.Within(q, 0.6, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					if r.ID%7 == 0 {
						t.Fatalf("deleted id %d returned after load", r.ID)
					}
				}
			}
			if err := x.Add(1000, vs[0]); err != nil {
				t.Fatalf("Add after load: %v", err)
			}
			if err := x.Add(1, vs[0]); !errors.Is(err, index.ErrDuplicate) {
				t.Fatalf("duplicate Add after load: %v", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	paths := savedIndexes(t, 300)
	good, err := os.ReadFile(paths["hnsw"])
	if err != nil {
		t.Fatal(err)
	}
	flip := func(off int) []byte {
		b := slices.Clone(good)
		b[off] ^= 0x40
		return b
	}
	tests := []struct {
		name    string
		content []byte // nil: file missing
		want    error
	}{
		{"missing file", nil, fs.ErrNotExist},
		{"empty file", []byte{}, index.ErrFormat},
		{"wrong magic", append([]byte("NOTANIDX"), good[8:]...), index.ErrFormat},
		{"truncated header", good[:10], index.ErrFormat},
		{"truncated middle", good[:len(good)/2], index.ErrFormat},
		{"truncated end", good[:len(good)-1], index.ErrFormat},
		{"trailing garbage", append(slices.Clone(good), 0), index.ErrFormat},
		{"bad version", flip(8), index.ErrFormat},
		{"flipped vector byte", flip(len(good) / 3), index.ErrChecksum},
		{"flipped link byte", flip(len(good) - 40), index.ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.idx")
			if tt.content != nil {
				if err := os.WriteFile(p, tt.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			x, err := index.Load(p)
			if !errors.Is(err, tt.want) || x != nil {
				t.Fatalf("Load = %v, %v; want error %v", x, err, tt.want)
			}
		})
	}
	t.Run("wrong dim", func(t *testing.T) {
		c := index.DefaultConfig()
		c.Dim = 64
		if _, err := index.LoadConfig(paths["exact"], c); !errors.Is(err, index.ErrDim) {
			t.Fatalf("LoadConfig(dim 64) = %v, want ErrDim", err)
		}
	})
	t.Run("wrong kind", func(t *testing.T) {
		if _, err := index.LoadFlat(paths["exact"], index.DefaultFlatConfig()); !errors.Is(err, index.ErrFormat) {
			t.Fatalf("LoadFlat(index file) = %v, want ErrFormat", err)
		}
	})
}

func TestFlatAndHNSWFiles(t *testing.T) {
	vs, qs := faces(t, 200, 10, 9)
	f := newFlat(t)
	h := newHNSW(t, func(c *index.HNSWConfig) { c.EfConstruction = 40 })
	fill(t, f, vs)
	fill(t, h, vs)
	h.Delete(3)
	dir := t.TempDir()
	if err := f.WriteFile(filepath.Join(dir, "f")); err != nil {
		t.Fatal(err)
	}
	if err := h.WriteFile(filepath.Join(dir, "h")); err != nil {
		t.Fatal(err)
	}
	f2, err := index.LoadFlat(filepath.Join(dir, "f"), index.DefaultFlatConfig())
	if err != nil {
		t.Fatal(err)
	}
	h2, err := index.LoadHNSW(filepath.Join(dir, "h"), index.DefaultHNSWConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		a, _ := f.Within(q, 0.7, nil)
		b, _ := f2.Within(q, 0.7, nil)
		c, _ := h.Within(q, 0.7, nil)
		d, _ := h2.Within(q, 0.7, nil)
		if !slices.Equal(a, b) || !slices.Equal(c, d) {
			t.Fatalf("loaded answers differ: flat %v/%v hnsw %v/%v", a, b, c, d)
		}
	}
	if _, err := index.LoadHNSW(filepath.Join(dir, "f"), index.DefaultHNSWConfig()); !errors.Is(err, index.ErrFormat) {
		t.Fatalf("LoadHNSW(flat file) = %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func FuzzLoad(f *testing.F) {
	// Small seeds keep the fuzzer fast.
	for _, p := range savedIndexes(f, 12) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("FOIDX\r\n\x1a\x01\x00\x00\x00"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "fuzz.idx")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		x, err := index.Load(p)
		if err != nil {
			if x != nil {
				t.Fatal("non-nil index with error")
			}
			return
		}
		// A file that loads must answer queries without panicking.
		q := make([]float32, 128)
		if _, err := x.Within(q, 1, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := x.Search(q, 3, nil); err != nil {
			t.Fatal(err)
		}
	})
}
