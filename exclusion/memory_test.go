package exclusion_test

import (
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
)

// FuzzCheckMemory feeds CheckMemory arbitrary bytes: it must not panic and
// must stay between the encoded size and that plus the largest decode and
// scan it counts.
func FuzzCheckMemory(f *testing.F) {
	f.Add(photo(person(1)))
	f.Add(pngHeader(6000, 6000))
	f.Add(jpegHeader(6000, 6000))
	f.Add([]byte("\xff\xd8\xff\xe0garbage"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
	f.Fuzz(func(t *testing.T, data []byte) {
		got := exclusion.CheckMemory(data)
		n := int64(len(data))
		if most := n + 256<<20 + 16_000_000*16; got < n || got > most {
			t.Fatalf("CheckMemory = %d for %d bytes, want within [%d, %d]", got, n, n, most)
		}
	})
}
