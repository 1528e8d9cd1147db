package exclusion

// This file holds the reviewer's temporary unmatch: an approved request, or
// one of its faces, blocks nothing until a given time.

import (
	"context"
	"fmt"
	"image"
	"time"
)

// Suspend stops the approved request id from blocking (its faces, hashes
// and URLs) until the time until, without deleting anything: a reviewer's
// answer to a reported false positive while it is looked into. The
// suspension is stored and audit-logged (ActionSuspend, with the time in
// the note) before Suspend returns, and applies in every Filter over the
// registry at once; it ends by itself at until (checked at every decision
// against Config.Now), or earlier with Resume. Suspending a suspended
// request sets a new time. until must be later than now; a request that is
// not approved gives ErrTransition. Safe for concurrent use.
func (r *Registry) Suspend(ctx context.Context, id string, until time.Time, actor, note string) (*Request, error) {
	until, err := r.suspendTime(until)
	if err != nil {
		return nil, err
	}
	return r.change(ctx, id, actor, suspendNote(until, "", note), ActionSuspend, "", func(req *Request) error {
		if req.Status != Approved {
			return fmt.Errorf("%w: suspend a %s request", ErrTransition, req.Status)
		}
		req.SuspendedUntil = until
		return nil
	})
}

// SuspendFace is Suspend for one enrolled face of an approved face opt-out:
// the enrolled face of photo (0-based) whose box best overlaps box. The
// request's other faces go on blocking. Safe for concurrent use.
func (r *Registry) SuspendFace(ctx context.Context, id string, photo int, box image.Rectangle, until time.Time, actor, note string) (*Request, error) {
	until, err := r.suspendTime(until)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("photo %d: face at %v ", photo, box)
	return r.change(ctx, id, actor, suspendNote(until, what, note), ActionSuspend, "", func(req *Request) error {
		if req.Status != Approved {
			return fmt.Errorf("%w: suspend a face of a %s request", ErrTransition, req.Status)
		}
		if photo < 0 || photo >= len(req.Photos) {
			return &ValidationError{Problems: []FieldError{{Field: "photo", Problem: fmt.Sprintf("%d: the request has %d photos", photo, len(req.Photos))}}}
		}
		faces := req.Photos[photo].Faces
		best, bi := 0.0, -1
		for i := range faces {
			if v := IoU(faces[i].Box, box); faces[i].Enrolled && v > best {
				best, bi = v, i
			}
		}
		if bi < 0 {
			return &ValidationError{Problems: []FieldError{{Field: "box", Problem: fmt.Sprintf("%v overlaps no enrolled face of photo %d", box, photo)}}}
		}
		faces[bi].SuspendedUntil = until
		return nil
	})
}

// Resume ends every suspension of the approved request id at once (the
// request's and its faces'), stored and audit-logged (ActionResume) before
// it returns. A request with no suspension in force gives ErrTransition.
// Safe for concurrent use.
func (r *Registry) Resume(ctx context.Context, id, actor, note string) (*Request, error) {
	now := r.now()
	return r.change(ctx, id, actor, note, ActionResume, "", func(req *Request) error {
		if req.Status != Approved {
			return fmt.Errorf("%w: resume a %s request", ErrTransition, req.Status)
		}
		found := now.Before(req.SuspendedUntil)
		req.SuspendedUntil = time.Time{}
		for i := range req.Photos {
			for j := range req.Photos[i].Faces {
				f := &req.Photos[i].Faces[j]
				found = found || now.Before(f.SuspendedUntil)
				f.SuspendedUntil = time.Time{}
			}
		}
		if !found {
			return fmt.Errorf("%w: request %s is not suspended", ErrTransition, req.ID)
		}
		return nil
	})
}

// suspendTime checks that until is later than now and returns it in the
// form the store keeps (UTC, microseconds).
func (r *Registry) suspendTime(until time.Time) (time.Time, error) {
	until = until.UTC().Truncate(time.Microsecond)
	if !until.After(r.now()) {
		return until, &ValidationError{Problems: []FieldError{{Field: "until", Problem: fmt.Sprintf("%s is not in the future", until.Format(time.RFC3339))}}}
	}
	return until, nil
}

// suspendNote is the audit note of a suspension.
func suspendNote(until time.Time, what, note string) string {
	s := what + "until " + until.Format(time.RFC3339)
	if note != "" {
		s += ": " + note
	}
	return s
}

// suspendedUntil returns until when face f of req blocks nothing: the
// later of the request's suspension and the face's own.
func suspendedUntil(req *Request, f *FaceRecord) time.Time {
	if f.SuspendedUntil.After(req.SuspendedUntil) {
		return f.SuspendedUntil
	}
	return req.SuspendedUntil
}
