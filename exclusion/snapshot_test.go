package exclusion

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
)

func sampleSnapshot() *snapshot {
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &snapshot{
		Seq: 42, Created: t, Models: []embed.Model{{Name: "m", Dim: 2, ID: "abc"}},
		Requests: []*Request{{
			ID: "r1", Version: 2, Kind: FaceOptOut, Status: Approved, Created: t, Updated: t, Decided: t,
			Photos: []PhotoRecord{{SHA256: "00", Faces: []FaceRecord{{Enrolled: true, Descriptors: map[string]embed.Descriptor{"abc": {0.6, 0.8}}}}}},
		}},
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	want := sampleSnapshot()
	if err := writeSnapshot(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := readSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != want.Seq || !got.sameRegistry(Stats{Created: want.Created, Models: want.Models}) ||
		len(got.Requests) != 1 || got.Requests[0].Photos[0].Faces[0].Descriptors["abc"][1] != 0.8 {
		t.Errorf("read back %+v", got)
	}
	if got.sameRegistry(Stats{Created: want.Created.Add(time.Second), Models: want.Models}) {
		t.Error("another creation time is the same registry")
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}
	if _, err := readSnapshot(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzReadSnapshot feeds damaged snapshot files to readSnapshot: it must
// return a snapshot or an error wrapping ErrCorrupt, never panic.
func FuzzReadSnapshot(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good")
	if err := writeSnapshot(good, sampleSnapshot()); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Add([]byte(snapshotMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "s")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := readSnapshot(path)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		if err == nil && s == nil {
			t.Fatal("nil snapshot without an error")
		}
	})
}

// FuzzSnapshotPayload wraps arbitrary payloads in a well-formed header and
// checksum, so that the gob decoding itself is fuzzed.
func FuzzSnapshotPayload(f *testing.F) {
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(sampleSnapshot()); err != nil {
		f.Fatal(err)
	}
	f.Add(payload.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		head := make([]byte, len(snapshotMagic)+8)
		copy(head, snapshotMagic)
		binary.BigEndian.PutUint64(head[len(snapshotMagic):], uint64(len(p)))
		h := sha256.New()
		h.Write(head)
		h.Write(p)
		path := filepath.Join(t.TempDir(), "s")
		if err := os.WriteFile(path, append(append(head, p...), h.Sum(nil)...), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readSnapshot(path); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
	})
}
