package evaluation

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
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

func FuzzReadSet(f *testing.F) {
	f.Add(`{"version":1,"key":"k","name":"n","faces":[{"Person":"a","Source":"s","Descriptor":[0.1],"Quality":{"size":10}}]}`)
	f.Add(`{"version":1,"key":"k","faces":[]}`)
	f.Add(`{"version":2,"key":"k"}`)
	f.Fuzz(func(t *testing.T, s string) {
		set, _, err := ReadSet(strings.NewReader(s), "k")
		if err == nil && (len(set.Faces) == 0 || set.Faces[0].Person == "") {
			t.Fatal("nil error with no usable faces")
		}
	})
}

func TestSetFileRoundTrip(t *testing.T) {
	s := &Set{Name: "n", Faces: []Face{{Person: "a", Source: "a/1.png", Quality: embed.Quality{Size: 150, Score: 0.15, Pose: "left"}}}}
	s.Faces[0].Descriptor = make(embed.Descriptor, embed.DlibDim)
	s.Faces[0].Descriptor[3] = 0.25
	var b strings.Builder
	if err := WriteSet(&b, "k", s, []Skipped{{File: "x.png", Reason: "no face"}}); err != nil {
		t.Fatal(err)
	}
	got, skipped, err := ReadSet(strings.NewReader(b.String()), "k")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) || len(skipped) != 1 {
		t.Fatalf("round trip: %+v %v, want %+v", got, skipped, s)
	}
	if _, _, err := ReadSet(strings.NewReader(b.String()), "other"); err == nil {
		t.Error("ReadSet accepted another key")
	}
	dir := t.TempDir()
	k1, err := FolderKey(dir, LabelFromDir, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.png"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	k2, _ := FolderKey(dir, LabelFromDir, "cfg")
	k3, _ := FolderKey(dir, LabelFromDir, "other cfg")
	if k1 == k2 || k2 == k3 {
		t.Errorf("FolderKey does not follow the folder's images and the embedder: %s %s %s", k1, k2, k3)
	}
}
