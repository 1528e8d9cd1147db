// Package exclusiontest holds test doubles for the exclusion package and the
// conformance suite every exclusion.Store must pass.
//
// # Basics
//
// MemStore is exclusion/memstore's in-memory exclusion.Store (not durable).
// Embedder is a deterministic fake embed.Embedder: every
// solid, non-white colour patch of an image is a "face" whose descriptor is
// derived from the patch's colour, so tests can draw people as coloured
// rectangles (Image, PNG). TestStore runs the Store contract against any
// implementation:
//
//	func TestStore(t *testing.T) {
//		exclusiontest.TestStore(t, func(t *testing.T) exclusion.Store { return open(t) })
//	}
//
// TestStore includes the audit hash chain (every event's Hash set with
// exclusion.ChainAudit where the store assigns its Seq). Keyring is an
// in-memory exclusion.Keyring (Clone copies it, as a backup would), and
// TestKeyring runs the Keyring contract.
//
// # Caveats
//
// The fake embedder's descriptors of different colours are random unit
// vectors (about 1.41 apart), far easier to tell apart than real faces: use
// the real models (internal/testenv) to test accuracy.
package exclusiontest
