package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/faceoptout/faceoptout/exclusion"
)

// editAuditEvent rewrites event seq of the store file at path as a forger
// with write access would: through bbolt, with the record's own checksum
// made again, so only the audit log's hash chain can tell.
func editAuditEvent(path string, seq uint64, edit func(ev *exclusion.AuditEvent)) error {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error {
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], seq)
		b := tx.Bucket(bucketAudit)
		v, err := unseal(bucketAudit, k[:], b.Get(k[:]))
		if err != nil {
			return err
		}
		var ev exclusion.AuditEvent
		if err := json.Unmarshal(v, &ev); err != nil {
			return err
		}
		edit(&ev)
		nv, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		return b.Put(k[:], seal(bucketAudit, k[:], nv))
	})
}

// TestAuditTamper edits one event in the raw store file and finds
// Registry.VerifyAudit naming it.
func TestAuditTamper(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	st, err := Create(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := exclusion.Create(ctx, st, nil, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"https://example.org/a.jpg", "https://example.org/b.jpg"} {
		req, err := reg.Submit(ctx, &exclusion.Submission{
			Kind: exclusion.ImageRemoval, Country: "FR", Reason: "DSA notice: this image is mine.",
			Name: "Jean Dupont", Email: "jean@example.fr", Phone: "+33612345678", URLs: []string{u},
		}, "intake")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Approve(ctx, req.ID, "reviewer", "ok"); err != nil {
			t.Fatal(err)
		}
	}
	head, err := reg.VerifyAudit(ctx)
	if err != nil || head.Events != 4 {
		t.Fatalf("before: %+v, %v", head, err)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		seq  uint64
		edit func(ev *exclusion.AuditEvent)
	}{
		{"first event's action", 1, func(ev *exclusion.AuditEvent) { ev.Action = exclusion.ActionReject }},
		{"actor", 2, func(ev *exclusion.AuditEvent) { ev.Actor = "someone else" }},
		{"time", 3, func(ev *exclusion.AuditEvent) { ev.Time = ev.Time.Add(-time.Hour) }},
		{"last event's note", 4, func(ev *exclusion.AuditEvent) { ev.Note = "approved by the board" }},
		{"hash made again for the edit", 2, func(ev *exclusion.AuditEvent) {
			ev.Actor = "someone else"
			exclusion.ChainAudit("", ev) // without the true predecessor's hash
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "copy.db")
			if err := os.WriteFile(p, orig, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := editAuditEvent(p, tc.seq, tc.edit); err != nil {
				t.Fatal(err)
			}
			st, err := Open(p, Config{})
			if err != nil {
				t.Fatal(err)
			}
			reg, err := exclusion.Open(ctx, st, nil, exclusion.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			_, err = reg.VerifyAudit(ctx)
			var ae *exclusion.AuditError
			if !errors.Is(err, exclusion.ErrAudit) || !errors.As(err, &ae) || ae.Seq != tc.seq {
				t.Fatalf("VerifyAudit: %v, want an AuditError at %d", err, tc.seq)
			}
			t.Logf("edited event %d of 4: caught: %v", tc.seq, err)
		})
	}
}
