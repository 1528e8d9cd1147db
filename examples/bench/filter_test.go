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

func TestPairedTable(t *testing.T) {
	// run builds one row's rounds from wall and CPU seconds.
	run := func(secs ...float64) []*filterRun {
		var rs []*filterRun
		for i := 0; i < len(secs); i += 2 {
			rs = append(rs, &filterRun{elapsed: time.Duration(secs[i] * float64(time.Second)), cpu: time.Duration(secs[i+1] * float64(time.Second))})
		}
		return rs
	}
	tests := []struct {
		name string
		keys []string
		all  [][]*filterRun
		want []string // lines the table must hold; none: no table
	}{
		{"one round: no table", []string{"filter", "goface"}, [][]*filterRun{run(1, 2), run(4, 4)}, nil},
		{"no baseline: no table", []string{"filter", "upright"}, [][]*filterRun{run(1, 2, 1, 2), run(2, 3, 2, 3)}, nil},
		{
			// The machine halves its speed in round 2: both sides of the
			// round's ratio move, the ratio does not.
			"drift cancels", []string{"filter", "goface"},
			[][]*filterRun{run(1, 2, 2, 4, 1, 2), run(4, 4, 8, 8, 4.4, 4.4)},
			[]string{"filter  4.00x [4.00-4.40]  2.00x [2.00-2.20]  -", "goface  -"},
		},
		{
			// Of an even number of rounds, the lower middle ratio.
			"both baselines", []string{"filter", "facesbytes", "goface"},
			[][]*filterRun{run(2, 4, 2, 4), run(1, 2, 3, 6), run(8, 8, 8, 8)},
			[]string{"filter      4.00x [4.00-4.00]  2.00x [2.00-2.00]  0.50x [0.50-1.50]  0.50x [0.50-1.50]"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := pairedTable(&b, tc.keys, tc.keys, tc.all); err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if b.Len() != 0 {
					t.Errorf("want no table, got\n%s", b.String())
				}
				return
			}
			for _, w := range tc.want {
				if !bytes.Contains(b.Bytes(), []byte(w)) {
					t.Errorf("no line %q in\n%s", w, b.String())
				}
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
