package main

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

func TestMedianFilterRun(t *testing.T) {
	tests := []struct {
		name    string
		elapsed []time.Duration
		want    time.Duration
	}{
		{"one", []time.Duration{3}, 3},
		{"odd", []time.Duration{5, 1, 3}, 3},
		{"even: the slower middle", []time.Duration{1, 4, 2, 3}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rs []*filterRun
			for _, e := range tc.elapsed {
				rs = append(rs, &filterRun{elapsed: e})
			}
			if got := medianFilterRun(rs).elapsed; got != tc.want {
				t.Errorf("median %v, want %v", got, tc.want)
			}
			if rs[0].elapsed != tc.elapsed[0] {
				t.Error("input reordered")
			}
		})
	}
}

func TestVerdictList(t *testing.T) {
	if got := verdictList(map[string]int{"block": 2, "allow": 5}); got != "allow 5, block 2" {
		t.Errorf("verdictList = %q", got)
	}
}

func TestBulkPhotosDistinct(t *testing.T) {
	a, b := bulkPhoto(1), bulkPhoto(2)
	if bytes.Equal(a, b) {
		t.Fatal("bulk photos 1 and 2 are the same bytes: the registry would refuse duplicates")
	}
	img, err := decodeFile(writeTemp(t, a))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != bulkSide {
		t.Fatalf("bulk photo is %v wide, want %d (bulkEmbedder recognises it by its width)", img.Bounds().Dx(), bulkSide)
	}
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := t.TempDir() + "/bulk.png"
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMemStore runs the Store conformance tests on the bench's in-memory
// store (used for registries of more than 100000 faces).
func TestMemStore(t *testing.T) {
	exclusiontest.TestStore(t, func(t *testing.T) exclusion.Store { return newMemStore() })
}
