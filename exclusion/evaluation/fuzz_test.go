package evaluation

import (
	"encoding/base64"
	"strings"
	"testing"
)

func FuzzLoadDescriptors(f *testing.F) {
	f.Add(`{"idols":[{"id":"a"}],"faces":[{"descriptor":"` + strings.Repeat("AAAA", 128) + `","idol_id":"a"}]}`)
	f.Add(`{"idols":[],"faces":[]}`)
	f.Add(`{"faces":[{"descriptor":"!!","idol_id":"x"}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		set, err := LoadDescriptors(strings.NewReader(s), "fuzz")
		if err == nil && len(set.Faces) == 0 {
			t.Fatal("nil error with no faces")
		}
	})
}

func TestLoadDescriptors(t *testing.T) {
	zero := base64.StdEncoding.EncodeToString(make([]byte, 512))
	nan := base64.StdEncoding.EncodeToString(append([]byte{0, 0, 0xc0, 0x7f}, make([]byte, 508)...))
	good := `{"idols":[{"id":"a"}],"faces":[{"descriptor":"` + zero + `","idol_id":"a"}]}`
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"one face", good, true},
		{"unknown idol", strings.Replace(good, `"idol_id":"a"`, `"idol_id":"b"`, 1), false},
		{"short descriptor", strings.Replace(good, zero, "AAAA", 1), false},
		{"NaN", strings.Replace(good, zero, nan, 1), false},
		{"not JSON", "{", false},
		{"no faces", `{"idols":[],"faces":[]}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadDescriptors(strings.NewReader(tc.in), tc.name)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
