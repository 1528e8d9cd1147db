package index

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFlatAddBatch checks that a Flat filled with AddBatch (one batch, or a
// large batch then small ones) answers range queries exactly as one filled
// with Add, and that a bad batch adds nothing.
func TestFlatAddBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const dim = 16
	vs := randVecs(rng, 3000, dim, func() float32 { return float32(rng.NormFloat64()) })
	flat := func(vs [][]float32) []float32 {
		var d []float32
		for _, v := range vs {
			d = append(d, v...)
		}
		return d
	}
	ids := func(first, n int) []ID {
		out := make([]ID, n)
		for i := range out {
			out[i] = ID(first + i)
		}
		return out
	}
	tests := []struct {
		name    string
		batches []int // sizes, in order
	}{
		{"one batch", []int{3000}},
		{"large then small", []int{2000, 10, 990}},
		{"small then large", []int{5, 2995}},
	}
	cfg := DefaultFlatConfig()
	cfg.Dim, cfg.ParallelMin = dim, 1000
	want, err := NewFlat(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addAll(t, want, vs, 0)
	for _, tt := range tests {
		for _, adopt := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, adopt %v", tt.name, adopt), func(t *testing.T) {
				got, err := NewFlat(cfg)
				if err != nil {
					t.Fatal(err)
				}
				at := 0
				for _, n := range tt.batches {
					add := got.AddBatch
					if adopt {
						add = got.AdoptBatch
					}
					if err := add(ids(at, n), flat(vs[at:at+n])); err != nil {
						t.Fatal(err)
					}
					at += n
				}
				if got.Len() != len(vs) {
					t.Fatalf("%d vectors, want %d", got.Len(), len(vs))
				}
				for i := range 50 {
					q := vs[i*37%len(vs)]
					for _, r := range []float32{0, 3, 5, 6} {
						a, err1 := got.Within(q, r, nil)
						b, err2 := want.Within(q, r, nil)
						if err1 != nil || err2 != nil || !slices.Equal(a, b) {
							t.Fatalf("query %d radius %g: %d results (%v), want %d (%v)", i, r, len(a), err1, len(b), err2)
						}
					}
				}
				if got.Delete(7) != true || got.Len() != len(vs)-1 {
					t.Error("Delete after AddBatch")
				}
				if err := got.Add(7, vs[7]); err != nil {
					t.Error(err)
				}
			})
		}
	}

	bad := []struct {
		name string
		ids  []ID
		data []float32
		want error
	}{
		{"too few numbers", ids(5000, 2), make([]float32, 2*dim-1), ErrDim},
		{"NaN", ids(5000, 2), append(make([]float32, 2*dim-1), float32(math.NaN())), ErrInvalidVector},
		{"id present", []ID{5000, 3}, make([]float32, 2*dim), ErrDuplicate},
		{"id twice", []ID{5000, 5000}, make([]float32, 2*dim), ErrDuplicate},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFlat(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.AddBatch(ids(0, 10), flat(vs[:10])); err != nil {
				t.Fatal(err)
			}
			if err := f.AddBatch(tt.ids, tt.data); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if f.Len() != 10 {
				t.Errorf("%d vectors after a bad batch", f.Len())
			}
			if _, ok := f.Vector(5000, nil); ok {
				t.Error("a vector of the bad batch was added")
			}
			if err := f.Add(5000, vs[20]); err != nil {
				t.Errorf("Add after a bad batch: %v", err)
			}
		})
	}
}

// TestFlatAppendRows checks that AppendRows returns every id with its own
// vector (as Vector returns it), after additions and deletions, appended to
// what the slices held.
func TestFlatAppendRows(t *testing.T) {
	const dim = 8
	rng := rand.New(rand.NewPCG(5, 6))
	tests := []struct {
		name      string
		add, drop int
	}{
		{"empty", 0, 0},
		{"added", 100, 0},
		{"added then deleted", 100, 37},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultFlatConfig()
			cfg.Dim = dim
			f, err := NewFlat(cfg)
			if err != nil {
				t.Fatal(err)
			}
			vs := randVecs(rng, tt.add, dim, func() float32 { return float32(rng.NormFloat64()) })
			addAll(t, f, vs, 0)
			for i := range tt.drop {
				if !f.Delete(ID(i * 2)) {
					t.Fatalf("Delete(%d) = false", i*2)
				}
			}
			ids, data := f.AppendRows([]ID{999999}, []float32{1, 2, 3, 4, 5, 6, 7, 8})
			if len(ids) != 1+f.Len() || len(data) != len(ids)*dim {
				t.Fatalf("%d ids, %d numbers; want %d ids of %d", len(ids), len(data), 1+f.Len(), dim)
			}
			if ids[0] != 999999 || data[0] != 1 {
				t.Fatal("AppendRows lost what the slices held")
			}
			seen := map[ID]bool{}
			for i, id := range ids[1:] {
				want, ok := f.Vector(id, nil)
				if !ok || seen[id] {
					t.Fatalf("id %d: stored %v, seen %v", id, ok, seen[id])
				}
				seen[id] = true
				if got := data[(i+1)*dim : (i+2)*dim]; !slices.Equal(got, want) {
					t.Fatalf("id %d: %v, want %v", id, got, want)
				}
			}
		})
	}
}
