package boltstore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	bolt "go.etcd.io/bbolt"
)

// Every value the store writes is sealed: followed by the CRC-32C
// (Castagnoli) of its bucket's name, its key and itself. bbolt checksums
// only its two meta pages; the seals make a flipped bit in any key or value
// a reported error (CorruptError naming bucket and key) instead of a
// silently different registry.

const sealSize = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func sealSum(bucket, key, v []byte) uint32 {
	c := crc32.Update(0, castagnoli, bucket)
	c = crc32.Update(c, castagnoli, []byte{0})
	c = crc32.Update(c, castagnoli, key)
	c = crc32.Update(c, castagnoli, []byte{0})
	return crc32.Update(c, castagnoli, v)
}

// seal returns v followed by its seal.
func seal(bucket, key, v []byte) []byte {
	out := make([]byte, len(v), len(v)+sealSize)
	copy(out, v)
	return binary.BigEndian.AppendUint32(out, sealSum(bucket, key, v))
}

// unseal checks a sealed value and returns it without its seal (a slice of
// sv, valid for the transaction).
func unseal(bucket, key, sv []byte) ([]byte, error) {
	if len(sv) < sealSize {
		return nil, &CorruptError{Where: where(bucket, key), Problem: fmt.Sprintf("value of %d bytes has no seal", len(sv))}
	}
	v := sv[:len(sv)-sealSize]
	if got, want := binary.BigEndian.Uint32(sv[len(v):]), sealSum(bucket, key, v); got != want {
		return nil, &CorruptError{Where: where(bucket, key), Problem: fmt.Sprintf("checksum %08x, content sums to %08x", got, want)}
	}
	return v, nil
}

func where(bucket, key []byte) string {
	return fmt.Sprintf("bucket %q key %q", bucket, key)
}

// put stores v sealed under key in b, the bucket named name.
func put(b *bolt.Bucket, name, key, v []byte) error {
	return b.Put(key, seal(name, key, v))
}

// get returns the unsealed value of key in b, the bucket named name; nil
// without an error when the key is absent.
func get(b *bolt.Bucket, name, key []byte) ([]byte, error) {
	sv := b.Get(key)
	if sv == nil {
		return nil, nil
	}
	return unseal(name, key, sv)
}
