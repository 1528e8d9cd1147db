package exclusion_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// stillFeed is a MemStore with a feed that never changes, for replicas
// over a registry that does not change while they run. Close leaves the
// MemStore open, so that replicas can start one after another on it.
type stillFeed struct{ *exclusiontest.MemStore }

func (stillFeed) Head(context.Context) (uint64, error) { return 7, nil }
func (stillFeed) Changes(context.Context, uint64, int) ([]exclusion.Change, error) {
	return nil, nil
}
func (stillFeed) Wake() <-chan struct{} { return nil }
func (stillFeed) Close() error          { return nil }

// TestReplicaSnapshotDamage starts a replica from the store (it writes its
// snapshot), again from the snapshot, and then from damaged snapshots:
// every damaged one is ignored and the replica loads the store, with the
// same answers.
func TestReplicaSnapshotDamage(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, st := newRegistry(t, emb)
	for i := range 4 {
		req := mustSubmit(t, reg, faceSubmission(photo(person(i))))
		if i < 3 {
			if _, err := reg.Approve(ctx, req.ID, "reviewer", ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	removal := mustSubmit(t, reg, removalSubmission("https://example.org/a.jpg"))
	if _, err := reg.Approve(ctx, removal.ID, "reviewer", ""); err != nil {
		t.Fatal(err)
	}
	want := map[int]exclusion.Verdict{0: exclusion.Block, 1: exclusion.Block, 2: exclusion.Block, 3: exclusion.Allow, 4: exclusion.Allow}
	snap := filepath.Join(t.TempDir(), "replica.snapshot")
	cfg := exclusion.DefaultReplicaConfig()
	cfg.Snapshot = snap
	start := func(t *testing.T, from string) {
		t.Helper()
		p, err := exclusion.NewReplica(ctx, stillFeed{st}, emb, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if s := p.Status(); s.Loaded != from || s.Faces != 3 || s.Applied != 7 {
			t.Errorf("status %+v, want loaded from %s, 3 faces, applied 7", s, from)
		}
		flt := newFilter(t, p.Registry(), emb)
		for i, v := range want {
			if d := flt.CheckFaces(ctx, []embed.Descriptor{exclusiontest.Descriptor(exclusiontest.Person(i))}); d.Verdict != v {
				t.Errorf("person %d: %s, want %s", i, d.Verdict, v)
			}
		}
	}
	start(t, "store")
	good, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	start(t, "snapshot")

	resum := func(b []byte) []byte {
		s := sha256.Sum256(b[:len(b)-sha256.Size])
		copy(b[len(b)-sha256.Size:], s[:])
		return b
	}
	tests := []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"bit flipped in the header", func(b []byte) []byte { b[17] ^= 1; return b }},
		{"bit flipped in the metadata", func(b []byte) []byte { b[70] ^= 0x40; return b }},
		{"bit flipped in a descriptor", func(b []byte) []byte { b[len(b)-sha256.Size-5] ^= 0x02; return b }},
		{"bit flipped in the checksum", func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }},
		{"truncated by one byte", func(b []byte) []byte { return b[:len(b)-1] }},
		{"truncated to its header", func(b []byte) []byte { return b[:64] }},
		{"empty", func(b []byte) []byte { return nil }},
		{"another version, checksum fixed", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 3); return resum(b) }},
		{"another registry's creation time, checksum fixed", func(b []byte) []byte { b[24]++; return resum(b) }},
		{"ahead of the feed, checksum fixed", func(b []byte) []byte { binary.LittleEndian.PutUint64(b[16:], 8); return resum(b) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(snap, tt.damage(slices.Clone(good)), 0o600); err != nil {
				t.Fatal(err)
			}
			start(t, "store")
		})
	}
}
