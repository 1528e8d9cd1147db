package exclusion

import "context"

// Keyring keeps the wrapped data keys of an encrypted registry (see
// EncryptionConfig), one per request that holds sealed data, by request
// id. The exclusion package declares what it needs; exclusion/keyfile is a
// file beside the store, and exclusiontest.Keyring an in-memory fake.
//
// The data keys live here and never in the Store, so that deleting one
// (crypto-shredding, on withdrawal or rejection) makes the request's
// sealed descriptors and hashes unreadable in every copy and backup of the
// store, even with the operator key. That holds only as far as the
// keyring's own old copies reach: keep its backups separately from the
// store's, few and short-lived.
//
// Contract, for every implementation:
//
//   - Durability: Put and Delete return nil only once the change is durable
//     (a crash or kill -9 right after the call loses nothing).
//   - Erasure: after Delete returns, the deleted bytes are gone from the
//     keyring's storage (overwritten, not merely unlinked or marked free),
//     within the limits its documentation states.
//   - Get returns a copy, or an error wrapping ErrNotFound if the id has no
//     key; Delete of an absent id returns nil; Put replaces any key the id
//     has.
//   - All methods are safe for concurrent use.
type Keyring interface {
	// Put stores the wrapped data key of request id.
	Put(ctx context.Context, id string, wrapped []byte) error
	// Get returns the wrapped data key of request id.
	Get(ctx context.Context, id string) ([]byte, error)
	// Delete erases the wrapped data key of request id.
	Delete(ctx context.Context, id string) error
	// IDs returns the ids that have a key, in no particular order.
	IDs(ctx context.Context) ([]string, error)
}
