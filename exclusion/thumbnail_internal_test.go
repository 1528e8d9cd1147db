package exclusion

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealRoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	in := []Thumbnail{{Photo: 0, Face: 1, JPEG: []byte("jpeg bytes")}}
	sealed, err := sealThumbnails(key, "ID1", in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := openThumbnails(key, "ID1", sealed)
	if err != nil || len(out) != 1 || out[0].Face != 1 || string(out[0].JPEG) != "jpeg bytes" {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	tests := []struct {
		name string
		key  []byte
		id   string
		data []byte
	}{
		{"other id", key, "ID2", sealed},
		{"other key", bytes.Repeat([]byte{2}, 32), "ID1", sealed},
		{"truncated", key, "ID1", sealed[:len(sealed)-1]},
		{"empty", key, "ID1", nil},
		{"other version", key, "ID1", append([]byte{9}, sealed[1:]...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := openThumbnails(tc.key, tc.id, tc.data); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%v, want ErrCorrupt", err)
			}
		})
	}
}

// FuzzOpenThumbnails: whatever a ThumbnailStore returns, opening it gives
// thumbnails or ErrCorrupt, never a panic.
func FuzzOpenThumbnails(f *testing.F) {
	key := bytes.Repeat([]byte{1}, 32)
	sealed, _ := sealThumbnails(key, "ID1", []Thumbnail{{JPEG: []byte{1, 2, 3}}})
	f.Add(sealed)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := openThumbnails(key, "ID1", data); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
	})
}
