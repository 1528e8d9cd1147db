package keyfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

const (
	headerSize = 512
	slotSize   = 256
	// MaxIDLen and MaxKeyLen bound an id and a wrapped key (a wrapped data
	// key of the exclusion package takes 69 bytes, a request id 26).
	MaxIDLen  = 100
	MaxKeyLen = 140
	// MaxSize bounds the file Open reads: about 4 million keys.
	MaxSize = headerSize + 1<<30

	formatVersion = 1
	slotUsed      = 1
	// slot layout: state, id length, key length (2 bytes), id, key, CRC.
	slotID  = 4
	slotKey = slotID + MaxIDLen
	slotCRC = slotKey + MaxKeyLen
)

var (
	magic      = []byte("faceoptout keyring\n")
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

func header() []byte {
	h := make([]byte, headerSize)
	copy(h, magic)
	binary.BigEndian.PutUint32(h[32:], formatVersion)
	binary.BigEndian.PutUint32(h[36:], slotSize)
	binary.BigEndian.PutUint32(h[40:], crc32.Checksum(h[:40], castagnoli))
	return h
}

func checkHeader(h []byte) error {
	bad := func(p string) error { return &CorruptError{Offset: 0, Problem: p} }
	switch {
	case len(h) < headerSize:
		return bad(fmt.Sprintf("the file has %d bytes, shorter than its header", len(h)))
	case !bytes.Equal(h[:len(magic)], magic):
		return bad("not a keyring file")
	case binary.BigEndian.Uint32(h[40:]) != crc32.Checksum(h[:40], castagnoli):
		return bad("the header fails its checksum")
	case binary.BigEndian.Uint32(h[32:]) != formatVersion || binary.BigEndian.Uint32(h[36:]) != slotSize:
		return bad(fmt.Sprintf("format %d with %d-byte slots, want %d with %d", binary.BigEndian.Uint32(h[32:]), binary.BigEndian.Uint32(h[36:]), formatVersion, slotSize))
	}
	return nil
}

func checkEntry(id string, key []byte) error {
	if len(id) == 0 || len(id) > MaxIDLen || len(key) == 0 || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: id of %d bytes, key of %d", ErrTooLong, len(id), len(key))
	}
	return nil
}

// encodeSlot returns the slot holding id and key.
func encodeSlot(id string, key []byte) []byte {
	s := make([]byte, slotSize)
	s[0] = slotUsed
	s[1] = byte(len(id))
	binary.BigEndian.PutUint16(s[2:], uint16(len(key)))
	copy(s[slotID:], id)
	copy(s[slotKey:], key)
	binary.BigEndian.PutUint32(s[slotCRC:], crc32.Checksum(s[:slotCRC], castagnoli))
	return s
}

// decodeSlot returns the id and key of a used slot, ok false for a free
// one (all zeros), or an error.
func decodeSlot(s []byte, off int64) (id string, key []byte, ok bool, err error) {
	bad := func(p string) error { return &CorruptError{Offset: off, Problem: p} }
	if len(s) != slotSize {
		return "", nil, false, bad(fmt.Sprintf("a slot of %d bytes (a torn write at the end of the file?)", len(s)))
	}
	if s[0] == 0 {
		if !zero(s) {
			return "", nil, false, bad("a free slot that is not zero")
		}
		return "", nil, false, nil
	}
	if binary.BigEndian.Uint32(s[slotCRC:]) != crc32.Checksum(s[:slotCRC], castagnoli) {
		return "", nil, false, bad("the slot fails its checksum")
	}
	n, m := int(s[1]), int(binary.BigEndian.Uint16(s[2:]))
	if s[0] != slotUsed || n == 0 || n > MaxIDLen || m == 0 || m > MaxKeyLen {
		return "", nil, false, bad(fmt.Sprintf("state %d, id of %d bytes, key of %d", s[0], n, m))
	}
	if !zero(s[slotID+n:slotKey]) || !zero(s[slotKey+m:slotCRC]) || !zero(s[slotCRC+4:]) {
		return "", nil, false, bad("padding that is not zero")
	}
	return string(s[slotID : slotID+n]), bytes.Clone(s[slotKey : slotKey+m]), true, nil
}

func zero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// parsed is what a keyring file holds.
type parsed struct {
	slots map[string]int64 // id -> offset of its slot
	keys  map[string][]byte
	free  []int64 // offsets of free slots, ascending
	end   int64   // where the next new slot goes
}

// parse checks a whole keyring file and indexes it.
func parse(data []byte) (*parsed, error) {
	if err := checkHeader(data); err != nil {
		return nil, err
	}
	p := &parsed{slots: map[string]int64{}, keys: map[string][]byte{}, end: headerSize}
	for off := int64(headerSize); off < int64(len(data)); off += slotSize {
		s := data[off:min(off+slotSize, int64(len(data)))]
		id, key, ok, err := decodeSlot(s, off)
		if err != nil {
			return nil, err
		}
		if !ok {
			p.free = append(p.free, off)
		} else if _, dup := p.slots[id]; dup {
			return nil, &CorruptError{Offset: off, Problem: fmt.Sprintf("a second slot for id %q", id)}
		} else {
			p.slots[id], p.keys[id] = off, key
		}
		p.end = off + slotSize
	}
	return p, nil
}
