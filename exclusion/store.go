package exclusion

import (
	"context"
	"iter"
	"time"

	"github.com/faceoptout/faceoptout/embed"
)

// Store is the durable home of a registry's requests and audit log. The
// exclusion package declares what it needs; implementations live elsewhere:
// the embedded default in exclusion/boltstore, an in-memory one in
// exclusion/exclusiontest, and any other (PostgreSQL for several machines)
// must pass exclusiontest.TestStore.
//
// Contract, for every implementation:
//
//   - Durability: Init, Insert and Update return nil only once the change
//     is durable (fsync or a committed transaction): a crash or kill -9
//     right after the call returns loses nothing.
//   - Atomicity: Insert and Update write the request and its audit event
//     together or not at all, and keep Stats in step with them.
//   - Isolation: Update succeeds only if the stored Version is
//     req.Version-1 (else ErrConflict), so concurrent writers on several
//     machines never lose each other's changes.
//   - Copies: requests passed in and returned are never retained or shared;
//     callers may modify them.
//   - Fidelity: a request reads back exactly as written (its JSON encoding
//     is unchanged: times are already truncated to microseconds), since the
//     Registry checks each record against its Checksum.
//   - Errors: ErrNoRegistry before Init, ErrExists, ErrNotFound, ErrConflict,
//     ErrClosed after Close, a wrapped ctx.Err() when ctx is done; any other
//     error (I/O, decoding) means the store is unreadable.
//   - All methods are safe for concurrent use; Close is idempotent.
type Store interface {
	// Init marks an empty store as a registry, recording when and the
	// models its faces are enrolled with (possibly none). It returns
	// ErrExists if the store was already initialised.
	Init(ctx context.Context, created time.Time, models []embed.Model) error
	// Stats returns the counts the store keeps in step with its contents, or
	// ErrNoRegistry if it was never initialised.
	Stats(ctx context.Context) (Stats, error)
	// Insert stores a new request (req.Version must be 1) with its audit
	// event, assigning the event's Seq. It returns ErrExists if the id is
	// taken.
	Insert(ctx context.Context, req *Request, ev AuditEvent) error
	// Update replaces a stored request by req (same ID, Version one more
	// than the stored one, else ErrConflict) and appends ev to the log.
	Update(ctx context.Context, req *Request, ev AuditEvent) error
	// Get returns the request with the given id, or ErrNotFound.
	Get(ctx context.Context, id string) (*Request, error)
	// Requests yields every stored request, in no particular order, and stops
	// at the first error (which it yields with a nil request).
	Requests(ctx context.Context) iter.Seq2[*Request, error]
	// Audit yields the log in Seq order: every event, or only those of one
	// request when requestID is not empty.
	Audit(ctx context.Context, requestID string) iter.Seq2[AuditEvent, error]
	// Close releases the store. Calls after Close return ErrClosed.
	Close() error
}

// Stats are the counts a Store keeps with its contents; opening a registry
// checks them against what it reads.
type Stats struct {
	// Created is when the registry was initialised.
	Created time.Time `json:"created"`
	// Models are the models given to Init, in order.
	Models []embed.Model `json:"models,omitempty"`
	// Requests counts stored requests by status.
	Requests map[Status]int `json:"requests"`
	// Faces counts the enrolled faces of approved requests.
	Faces int `json:"faces"`
	// Events counts audit events.
	Events int `json:"events"`
}

// Total returns the number of stored requests.
func (s Stats) Total() int {
	n := 0
	for _, v := range s.Requests {
		n += v
	}
	return n
}

// CountDelta returns how the counts change when old (nil for an insert) is
// replaced by new: the per-status changes and the change in approved faces.
// Stores use it to keep Stats in step.
func CountDelta(old, new *Request) (status map[Status]int, faces int) {
	status = map[Status]int{}
	if old != nil {
		status[old.Status]--
		if old.Status == Approved {
			faces -= len(old.EnrolledFaces())
		}
	}
	if new != nil {
		status[new.Status]++
		if new.Status == Approved {
			faces += len(new.EnrolledFaces())
		}
	}
	for k, v := range status {
		if v == 0 {
			delete(status, k)
		}
	}
	return status, faces
}
