package exclusion

import (
	"context"
	"time"
)

// Change is one entry of a store's change feed: a request whose effect on
// what blocks may have changed (it was approved, or an approved request was
// withdrawn or removed). Readers apply it by reading the request's current
// state, so applying a change twice, or out of date, is harmless.
type Change struct {
	// Seq orders the feed: consecutive from 1, assigned in the same
	// transaction as the change, in commit order.
	Seq uint64 `json:"seq"`
	// RequestID is the request that changed.
	RequestID string `json:"request_id"`
	// Status is the request's status after the change.
	Status Status `json:"status"`
	// Time is when the change was stored.
	Time time.Time `json:"time"`
}

// Feed is the change feed of a Store that several processes share: every
// change that moves a request into or out of Approved gets the next
// sequence number in the transaction that makes it. The Replica declares
// and uses it; exclusion/pgstore implements it.
//
// Contract: a change is visible to Changes only once committed, and never
// after a change with a higher Seq (so a reader that has seen n has seen
// every change up to n); Wake is a hint only (lost or spurious wake-ups
// delay nothing past the reader's poll interval). Safe for concurrent use.
type Feed interface {
	// Head returns the Seq of the newest change, 0 if none, or
	// ErrNoRegistry before the store is initialised.
	Head(ctx context.Context) (uint64, error)
	// Changes returns, in Seq order, at most limit changes with Seq > after.
	Changes(ctx context.Context, after uint64, limit int) ([]Change, error)
	// Wake returns a channel that receives a value soon after a change is
	// committed, by any process. Every call returns the same channel; it
	// is meant for one reader.
	Wake() <-chan struct{}
}

// FeedChange reports whether replacing old (nil for an insert) by new
// changes what blocks, and so needs a feed entry. Stores use it.
func FeedChange(old, new *Request) bool {
	return (old != nil && old.Status == Approved) || (new != nil && new.Status == Approved)
}
