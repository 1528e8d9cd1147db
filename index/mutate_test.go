package index_test

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/index"
)

// TestLoadMutations feeds Load thousands of deterministically corrupted
// copies of valid files (a byte changed, a 32-bit word overwritten, the file
// cut short): every one must either load into an index that answers queries
// or fail with an error and a nil index, never panic. CI runs no -fuzz, so
// this keeps hostile files covered there.
func TestLoadMutations(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	dir := t.TempDir()
	q := make([]float32, 128)
	for mode, p := range savedIndexes(t, 12) {
		t.Run(mode, func(t *testing.T) {
			seed, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			loaded := 0
			for i := 0; i < n; i++ {
				b := append([]byte(nil), seed...)
				switch rng.IntN(3) {
				case 0:
					b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
				case 1:
					o := rng.IntN(len(b) - 4)
					binary.LittleEndian.PutUint32(b[o:], rng.Uint32())
				case 2:
					b = b[:rng.IntN(len(b))]
				}
				f := filepath.Join(dir, "m.idx")
				if err := os.WriteFile(f, b, 0o600); err != nil {
					t.Fatal(err)
				}
				x, err := index.Load(f)
				if err != nil {
					if x != nil {
						t.Fatalf("mutation %d: non-nil index with error %v", i, err)
					}
					if errors.Is(err, os.ErrNotExist) {
						t.Fatalf("mutation %d: %v", i, err)
					}
					continue
				}
				loaded++
				if _, err := x.Within(q, 1, nil); err != nil {
					t.Fatalf("mutation %d: loaded index fails Within: %v", i, err)
				}
				if _, err := x.Search(q, 3, nil); err != nil {
					t.Fatalf("mutation %d: loaded index fails Search: %v", i, err)
				}
			}
			// Checksums cover every section: a changed byte must not load.
			t.Logf("%d of %d corrupted files loaded", loaded, n)
			if loaded > 0 {
				t.Errorf("%d corrupted files loaded; checksums should refuse every one", loaded)
			}
		})
	}
}
