package exclusiontest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
)

// testAuditChain checks that a store chains every audit event it appends
// to the one before (exclusion.ChainAudit, where it assigns Seq), across
// inserts, updates and concurrent writers, and that a refused change
// appends nothing to the chain.
func testAuditChain(t *testing.T, ready func(t *testing.T) exclusion.Store) {
	ctx := context.Background()
	s := ready(t)
	const n = 4
	for i := range n {
		id := fmt.Sprintf("c%d", i)
		must(t, s.Insert(ctx, SampleRequest(id, exclusion.Pending, 1), event(id, exclusion.ActionSubmit)))
	}
	done := make(chan error, n)
	for i := range n {
		go func() {
			id := fmt.Sprintf("c%d", i)
			req := SampleRequest(id, exclusion.Approved, 1)
			req.Version = 2
			ev := event(id, exclusion.ActionApprove)
			ev.From, ev.To, ev.Note = exclusion.Pending, exclusion.Approved, fmt.Sprintf("note %d ✓", i)
			ev.Time = time.Date(2026, 2, 3, 4, 5, 6, 7000, time.FixedZone("CET", 3600))
			done <- s.Update(ctx, req, ev)
		}()
	}
	for range n {
		must(t, <-done)
	}
	// A refused update (stale version) appends nothing.
	stale := SampleRequest("c0", exclusion.Withdrawn, 0)
	stale.Version = 2
	is(t, s.Update(ctx, stale, event("c0", exclusion.ActionWithdraw)), exclusion.ErrConflict)

	prev, seq := "", uint64(0)
	for ev, err := range s.Audit(ctx, "") {
		must(t, err)
		seq++
		eq(t, seq, ev.Seq)
		truth(t, ev.Hash != "", "event %d has no hash", ev.Seq)
		eq(t, exclusion.AuditHash(prev, ev), ev.Hash, "event ", ev.Seq)
		prev = ev.Hash
	}
	eq(t, uint64(2*n), seq)
	// One request's events carry the same hashes as in the whole log.
	for ev, err := range s.Audit(ctx, "c1") {
		must(t, err)
		truth(t, ev.Hash != "", "event %d of c1 has no hash", ev.Seq)
	}
}
