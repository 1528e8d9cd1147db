package exclusion_test

import (
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// newClockedRegistry is newRegistry with the test's clock exposed.
func newClockedRegistry(t *testing.T, emb embed.Embedder) (*exclusion.Registry, *exclusiontest.MemStore, *clock) {
	t.Helper()
	st := exclusiontest.NewMemStore()
	cfg := exclusion.DefaultConfig()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Now = c.now
	reg, err := exclusion.Create(ctx, st, emb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	return reg, st, c
}

func lastEvent(t *testing.T, reg *exclusion.Registry, id string) exclusion.AuditEvent {
	t.Helper()
	var last exclusion.AuditEvent
	for ev, err := range reg.Audit(ctx, id) {
		if err != nil {
			t.Fatal(err)
		}
		last = ev
	}
	return last
}

// A suspended request blocks nothing until its time (checked at decision
// time against the registry's clock), is stored and audit-logged, survives
// a reopen, and can be resumed early.
func TestSuspendRequest(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, st, c := newClockedRegistry(t, emb)
	req := mustSubmit(t, reg, faceSubmission(photo(person(1))))
	mustApprove(t, reg, req.ID)
	f := newFilter(t, reg, emb)
	p1 := []embed.Descriptor{exclusiontest.Descriptor(exclusiontest.Person(1))}
	wantVerdict(t, f.CheckFaces(ctx, p1), exclusion.Block, req.ID)

	until := c.t.Add(time.Hour)
	got, err := reg.Suspend(ctx, req.ID, until, "reviewer", "look-alike reported")
	if err != nil {
		t.Fatal(err)
	}
	if !got.SuspendedUntil.Equal(until) || got.Status != exclusion.Approved {
		t.Fatalf("suspended request: until %v, status %v", got.SuspendedUntil, got.Status)
	}
	ev := lastEvent(t, reg, req.ID)
	if ev.Action != exclusion.ActionSuspend || ev.Actor != "reviewer" || !strings.Contains(ev.Note, "look-alike reported") || !strings.Contains(ev.Note, until.Format(time.RFC3339)) {
		t.Fatalf("audit event %+v", ev)
	}
	wantVerdict(t, f.CheckFaces(ctx, p1), exclusion.Allow)
	wantVerdict(t, f.CheckImageBytes(ctx, photo(person(1))), exclusion.Allow) // the photo's SHA-256 too

	// Durable: a registry reopened on the store sees the suspension.
	reg2, err := exclusion.Open(ctx, st, emb, exclusion.Config{Now: func() time.Time { return c.t }})
	if err != nil {
		t.Fatal(err)
	}
	wantVerdict(t, newFilter(t, reg2, emb).CheckFaces(ctx, p1), exclusion.Allow)

	// The time passes: it blocks again, with no call.
	c.t = until
	wantVerdict(t, f.CheckFaces(ctx, p1), exclusion.Block, req.ID)

	// Suspend again, resume early.
	if _, err := reg.Suspend(ctx, req.ID, c.t.Add(24*time.Hour), "reviewer", ""); err != nil {
		t.Fatal(err)
	}
	wantVerdict(t, f.CheckFaces(ctx, p1), exclusion.Allow)
	got, err = reg.Resume(ctx, req.ID, "reviewer", "not a look-alike after all")
	if err != nil {
		t.Fatal(err)
	}
	if !got.SuspendedUntil.IsZero() {
		t.Fatalf("resumed request still suspended until %v", got.SuspendedUntil)
	}
	if ev := lastEvent(t, reg, req.ID); ev.Action != exclusion.ActionResume {
		t.Fatalf("audit event %+v, want resume", ev)
	}
	wantVerdict(t, f.CheckFaces(ctx, p1), exclusion.Block, req.ID)
	if _, err := reg.Resume(ctx, req.ID, "reviewer", ""); err == nil {
		t.Fatal("resumed a request that is not suspended")
	}
}

// One face of a request can be suspended alone; Sweep leaves suspended
// faces out like the Filter.
func TestSuspendFace(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _, c := newClockedRegistry(t, emb)
	req := mustSubmit(t, reg, faceSubmission(photo(person(1)), photo(at(person(2), 40, 40))))
	mustApprove(t, reg, req.ID)
	f := newFilter(t, reg, emb)
	p1 := exclusiontest.Descriptor(exclusiontest.Person(1))
	p2 := exclusiontest.Descriptor(exclusiontest.Person(2))

	box := req.Photos[1].Faces[0].Box
	got, err := reg.SuspendFace(ctx, req.ID, 1, box, c.t.Add(time.Hour), "reviewer", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Photos[1].Faces[0].SuspendedUntil.IsZero() || !got.SuspendedUntil.IsZero() || !got.Photos[0].Faces[0].SuspendedUntil.IsZero() {
		t.Fatalf("suspensions: request %v, faces %v and %v", got.SuspendedUntil, got.Photos[0].Faces[0].SuspendedUntil, got.Photos[1].Faces[0].SuspendedUntil)
	}
	wantVerdict(t, f.CheckFaces(ctx, []embed.Descriptor{p1}), exclusion.Block, req.ID)
	wantVerdict(t, f.CheckFaces(ctx, []embed.Descriptor{p2}), exclusion.Allow)
	pairs := func(yield func(string, embed.Descriptor) bool) {
		_ = yield("p1", p1) && yield("p2", p2)
	}
	purge, err := exclusion.Sweep(ctx, f, exclusion.SweepSelect{}, iter.Seq2[string, embed.Descriptor](pairs))
	if err != nil || len(purge) != 1 || purge[0] != "p1" {
		t.Fatalf("Sweep = %v, %v; want [p1]", purge, err)
	}
	if _, err := reg.Resume(ctx, req.ID, "reviewer", ""); err != nil {
		t.Fatal(err)
	}
	wantVerdict(t, f.CheckFaces(ctx, []embed.Descriptor{p2}), exclusion.Block, req.ID)
}

// An image removal suspended stops blocking its URLs too.
func TestSuspendImageRemoval(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _, c := newClockedRegistry(t, emb)
	req := mustSubmit(t, reg, removalSubmission("https://example.org/a.jpg"))
	mustApprove(t, reg, req.ID)
	f := newFilter(t, reg, emb)
	wantVerdict(t, f.CheckURL(ctx, "https://example.org/a.jpg"), exclusion.Block, req.ID)
	if _, err := reg.Suspend(ctx, req.ID, c.t.Add(time.Hour), "reviewer", ""); err != nil {
		t.Fatal(err)
	}
	wantVerdict(t, f.CheckURL(ctx, "https://example.org/a.jpg"), exclusion.Allow)
}

func TestSuspendErrors(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _, c := newClockedRegistry(t, emb)
	pending := mustSubmit(t, reg, faceSubmission(photo(person(1))))
	approved := mustSubmit(t, reg, faceSubmission(photo(person(2))))
	mustApprove(t, reg, approved.ID)
	later := c.t.Add(time.Hour)
	for _, tc := range []struct {
		name string
		call func() error
		want error
	}{
		{"pending request", func() error { _, err := reg.Suspend(ctx, pending.ID, later, "reviewer", ""); return err }, exclusion.ErrTransition},
		{"unknown request", func() error { _, err := reg.Suspend(ctx, "nope", later, "reviewer", ""); return err }, exclusion.ErrNotFound},
		{"time already past", func() error { _, err := reg.Suspend(ctx, approved.ID, c.t.Add(-time.Hour), "reviewer", ""); return err }, exclusion.ErrInvalidRequest},
		{"no actor", func() error { _, err := reg.Suspend(ctx, approved.ID, later, "", ""); return err }, exclusion.ErrInvalidRequest},
		{"no such photo", func() error {
			_, err := reg.SuspendFace(ctx, approved.ID, 3, approved.Photos[0].Faces[0].Box, later, "reviewer", "")
			return err
		}, exclusion.ErrInvalidRequest},
		{"box overlaps no face", func() error {
			_, err := reg.SuspendFace(ctx, approved.ID, 0, approved.Photos[0].Faces[0].Box.Add(approved.Photos[0].Faces[0].Box.Size().Mul(3)), later, "reviewer", "")
			return err
		}, exclusion.ErrInvalidRequest},
		{"resume what is not suspended", func() error { _, err := reg.Resume(ctx, approved.ID, "reviewer", ""); return err }, exclusion.ErrTransition},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.call(), tc.want) })
	}
}
