package facesim_test

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/internal/facesim"
)

// FuzzLoadIdols feeds arbitrary files to LoadIdols: it must never panic,
// every error must wrap ErrFormat (the file exists), and every success
// must hold 128 finite numbers per descriptor, one label per descriptor.
func FuzzLoadIdols(f *testing.F) {
	raw := make([]byte, 512)
	for i := range 128 {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(i)/128))
	}
	d := base64.StdEncoding.EncodeToString(raw)
	f.Add([]byte(`{"faces":[{"descriptor":"` + d + `","idol_id":"a"},{"descriptor":"` + d + `","idol_id":"b"}]}`))
	f.Add([]byte(`{"faces":[]}`))
	f.Add([]byte(`{"faces":[{"descriptor":"AAAA","idol_id":"a"}]}`))
	f.Add([]byte(`{"faces":[{"descriptor":"` + d + `"}]}`))
	f.Add([]byte(`null`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "idols.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		id, err := facesim.LoadIdols(p)
		if err != nil {
			if !errors.Is(err, facesim.ErrFormat) {
				t.Fatalf("error wraps no ErrFormat: %v", err)
			}
			return
		}
		if len(id.Descriptors) == 0 || len(id.Descriptors) != len(id.Labels) {
			t.Fatalf("%d descriptors, %d labels", len(id.Descriptors), len(id.Labels))
		}
		for i, v := range id.Descriptors {
			if len(v) != 128 {
				t.Fatalf("descriptor %d has %d numbers", i, len(v))
			}
			if l := id.Labels[i]; l < 0 || l >= len(id.People) {
				t.Fatalf("label %d of %d people", l, len(id.People))
			}
		}
	})
}
