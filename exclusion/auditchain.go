package exclusion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// ChainAudit sets ev.Hash, linking ev to the event before it: Hash is the
// hex SHA-256 of the previous event's hash (hex-decoded; nothing for the
// first event, prevHash "") followed by ev's canonical JSON encoding
// without its Hash. Stores call it where they assign ev.Seq, in the same
// transaction that appends ev, so the log is a hash chain: editing,
// removing or reordering any event breaks every link after it, and
// Registry.VerifyAudit finds the first broken one.
func ChainAudit(prevHash string, ev *AuditEvent) {
	ev.Hash = AuditHash(prevHash, *ev)
}

// AuditHash returns the hash ChainAudit gives ev after an event whose hash
// is prevHash. A prevHash that is not hex is hashed as its bytes, so a
// mangled predecessor still gives a (wrong) link rather than a panic.
func AuditHash(prevHash string, ev AuditEvent) string {
	h := sha256.New()
	if p, err := hex.DecodeString(prevHash); err == nil {
		h.Write(p)
	} else {
		h.Write([]byte(prevHash))
	}
	h.Write(canonicalEvent(ev))
	return hex.EncodeToString(h.Sum(nil))
}

// canonicalEvent is the encoding an event's hash covers: every field but
// Hash, in a fixed order, the time in UTC with nanoseconds, so that stores
// that give times back in another zone (PostgreSQL) hash the same bytes.
func canonicalEvent(ev AuditEvent) []byte {
	c := struct {
		Seq       uint64 `json:"seq"`
		Time      string `json:"time"`
		Actor     string `json:"actor"`
		RequestID string `json:"request_id"`
		Action    Action `json:"action"`
		From      Status `json:"from"`
		To        Status `json:"to"`
		Note      string `json:"note"`
	}{ev.Seq, ev.Time.UTC().Format(time.RFC3339Nano), ev.Actor, ev.RequestID, ev.Action, ev.From, ev.To, ev.Note}
	b, err := json.Marshal(c)
	if err != nil { // strings and numbers always encode
		return []byte(fmt.Sprintf("%#v", c))
	}
	return b
}

// AuditError is a broken link of the audit log's hash chain, found by
// Registry.VerifyAudit. It matches ErrAudit with errors.Is.
type AuditError struct {
	// Seq is the first event that fails its check: its hash does not
	// follow from the event before it and its own contents, or it is not
	// the next number (an event before it is missing, or the log ends
	// before the count the store keeps).
	Seq uint64
	// Problem says what is wrong.
	Problem string
}

// Error says which event breaks the chain and how.
func (e *AuditError) Error() string {
	return fmt.Sprintf("%s: event %d: %s", ErrAudit, e.Seq, e.Problem)
}

// Is reports target == ErrAudit.
func (e *AuditError) Is(target error) bool { return target == ErrAudit }

// AuditHead is the end of a verified audit log. Recorded outside the store
// (a ticket, a signed message, a second site), it lets a later
// verification show that the log was not rewritten as a whole or cut
// short: the later log must hold an event with this Seq and Hash.
type AuditHead struct {
	// Events is the number of events, and Seq the last one's (0 if none).
	Events int    `json:"events"`
	Seq    uint64 `json:"seq"`
	// Hash is the last event's hash ("" if none).
	Hash string `json:"hash"`
}

// VerifyAudit reads the whole audit log and checks its hash chain: events
// numbered 1, 2, 3... each with the hash ChainAudit gives it after the one
// before, and at least as many as the store counts. It returns the head of
// the log, or an *AuditError (errors.Is(err, ErrAudit)) naming the first
// event that fails; store errors are returned as they are.
//
// The chain shows edits by anyone who cannot rewrite the whole log from the
// edited event on; against someone who can (write access to the store and
// this code), compare the head with one recorded elsewhere before. A log
// written by a store that did not chain its events fails at its first
// event ("no hash"). Safe for concurrent use; events appended during the
// call are checked too.
func (r *Registry) VerifyAudit(ctx context.Context) (AuditHead, error) {
	if err := r.usable(); err != nil {
		return AuditHead{}, err
	}
	st, err := r.store.Stats(ctx)
	if err != nil {
		return AuditHead{}, fmt.Errorf("exclusion: verifying the audit log: %w", err)
	}
	var head AuditHead
	for ev, err := range r.store.Audit(ctx, "") {
		if err != nil {
			return head, fmt.Errorf("exclusion: verifying the audit log: %w", err)
		}
		if ev.Seq != head.Seq+1 {
			return head, &AuditError{Seq: head.Seq + 1, Problem: fmt.Sprintf("missing: the next event read is %d", ev.Seq)}
		}
		if ev.Hash == "" {
			return head, &AuditError{Seq: ev.Seq, Problem: "no hash (not chained)"}
		}
		if want := AuditHash(head.Hash, ev); ev.Hash != want {
			return head, &AuditError{Seq: ev.Seq, Problem: "its hash does not match its contents and the event before it (edited, or an event before it changed)"}
		}
		head = AuditHead{Events: head.Events + 1, Seq: ev.Seq, Hash: ev.Hash}
	}
	if head.Events < st.Events {
		return head, &AuditError{Seq: head.Seq + 1, Problem: fmt.Sprintf("missing: the store counts %d events, the log ends after %d", st.Events, head.Events)}
	}
	return head, nil
}
