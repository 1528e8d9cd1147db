package keyfile_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/exclusion/keyfile"
)

var ctx = context.Background()

func create(t *testing.T) (*keyfile.Keyring, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys")
	k, err := keyfile.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k, p
}

func TestConformance(t *testing.T) {
	exclusiontest.TestKeyring(t,
		func(t *testing.T) exclusion.Keyring { k, _ := create(t); return k },
		func(t *testing.T, k exclusion.Keyring) exclusion.Keyring {
			kf := k.(*keyfile.Keyring)
			if err := kf.Close(); err != nil {
				t.Fatal(err)
			}
			k2, err := keyfile.Open(kf.Path())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = k2.Close() })
			return k2
		})
}

func wrapped(i int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("<key %03d>", i)), 8)[:69]
}

// TestDeleteErases finds a deleted key's bytes nowhere in the file, while
// the others stay, and its slot reused.
func TestDeleteErases(t *testing.T) {
	k, p := create(t)
	for i := range 10 {
		if err := k.Put(ctx, fmt.Sprintf("REQUEST%02d", i), wrapped(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range []int{3, 7} {
		if err := k.Delete(ctx, fmt.Sprintf("REQUEST%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		has := bytes.Contains(raw, wrapped(i)) || bytes.Contains(raw, []byte(fmt.Sprintf("REQUEST%02d", i)))
		if has != (i != 3 && i != 7) {
			t.Fatalf("key %d in the file: %v", i, has)
		}
	}
	size := len(raw)
	if err := k.Put(ctx, "NEW", wrapped(99)); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Size() != int64(size) {
		t.Fatalf("a free slot was not reused: %d bytes, was %d", fi.Size(), size)
	}
}

func TestOpenChecks(t *testing.T) {
	k, p := create(t)
	for i := range 4 {
		if err := k.Put(ctx, fmt.Sprintf("R%d", i), wrapped(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.Delete(ctx, "R1"); err != nil {
		t.Fatal(err)
	}
	if _, err := keyfile.Open(p); !errors.Is(err, keyfile.ErrLocked) {
		t.Fatalf("a second Open: %v, want ErrLocked", err)
	}
	if _, err := keyfile.Create(p); !errors.Is(err, os.ErrExist) {
		t.Fatalf("Create over a keyring: %v", err)
	}
	if _, err := keyfile.Open(p + ".typo"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open of a missing file: %v", err)
	}
	k.Close()
	good, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mangle func(b []byte) []byte
		at     int64
	}{
		{"header magic", func(b []byte) []byte { b[0] ^= 1; return b }, 0},
		{"header version", func(b []byte) []byte { b[35] ^= 1; return b }, 0},
		{"slot id", func(b []byte) []byte { b[512+4] ^= 1; return b }, 512},
		{"slot key", func(b []byte) []byte { b[3*256+512+120] ^= 0x40; return b }, 512 + 3*256},
		{"free slot", func(b []byte) []byte { b[512+256+200] = 1; return b }, 512 + 256},
		{"torn slot at the end", func(b []byte) []byte { return b[:len(b)-100] }, 512 + 3*256},
		{"empty file", func(b []byte) []byte { return nil }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := filepath.Join(t.TempDir(), "keys")
			if err := os.WriteFile(q, tc.mangle(bytes.Clone(good)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := keyfile.Open(q)
			var ce *keyfile.CorruptError
			if !errors.Is(err, exclusion.ErrCorrupt) || !errors.As(err, &ce) || ce.Offset != tc.at {
				t.Fatalf("Open: %v, want a CorruptError at %d", err, tc.at)
			}
		})
	}
}

func TestBadEntries(t *testing.T) {
	k, _ := create(t)
	for _, tc := range []struct {
		name string
		id   string
		key  []byte
	}{
		{"empty id", "", wrapped(1)},
		{"long id", string(bytes.Repeat([]byte("x"), keyfile.MaxIDLen+1)), wrapped(1)},
		{"empty key", "a", nil},
		{"long key", "a", make([]byte, keyfile.MaxKeyLen+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := k.Put(ctx, tc.id, tc.key); !errors.Is(err, keyfile.ErrTooLong) {
				t.Fatalf("Put: %v", err)
			}
		})
	}
	k.Close()
	if err := k.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := k.Get(ctx, "a"); !errors.Is(err, exclusion.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
}
