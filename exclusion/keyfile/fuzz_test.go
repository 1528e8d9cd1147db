package keyfile

import (
	"bytes"
	"fmt"
	"testing"
)

func FuzzParse(f *testing.F) {
	valid := header()
	for i := range 3 {
		valid = append(valid, encodeSlot(fmt.Sprintf("REQUEST%d", i), bytes.Repeat([]byte{byte(i + 1)}, 69))...)
	}
	valid = append(valid, make([]byte, slotSize)...)
	f.Add(valid)
	f.Add(header())
	f.Add(valid[:len(valid)-7])
	f.Add([]byte("faceoptout keyring\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parse(data)
		if err != nil {
			return
		}
		// What parses is a consistent index of the file.
		if len(p.slots) != len(p.keys) || (p.end-headerSize)%slotSize != 0 || p.end != int64(len(data)) && len(data) > headerSize {
			t.Fatalf("inconsistent index: %d slots, %d keys, end %d of %d", len(p.slots), len(p.keys), p.end, len(data))
		}
		for id, off := range p.slots {
			if !bytes.Equal(data[off:off+slotSize], encodeSlot(id, p.keys[id])) {
				t.Fatalf("slot at %d does not re-encode", off)
			}
		}
	})
}
