// Package boltstore is the default, embedded exclusion.Store: one bbolt file
// (go.etcd.io/bbolt) on local disk.
//
// # Basics
//
//	st, err := boltstore.Create("registry.db", nil) // a new registry file; fails if it exists
//	reg, err := exclusion.Create(ctx, st, emb, exclusion.DefaultConfig())
//
//	st, err := boltstore.Open("registry.db", nil) // an existing file; fails if it is missing
//	reg, err := exclusion.Open(ctx, st, emb, exclusion.DefaultConfig())
//
// Create and Open are separate so that a mistyped path is an error, never a
// silently empty registry (and so an empty filter).
//
// Why bbolt: it is pure Go (no cgo, nothing to install), keeps everything in
// one file that is easy to back up, and each Update transaction commits with
// fsync (fdatasync) before it returns, so every acknowledged write survives
// a crash or kill -9; readers use MVCC snapshots and never block the writer.
// Its B+tree with copy-on-write pages and checksummed meta pages either shows
// a transaction entirely or not at all after a crash.
//
// Layout: bucket "meta" holds the format version, the creation time and the
// counts (exclusion.Stats), updated in the same transaction as each change;
// "requests" maps request id to its JSON record; "audit" maps a big-endian
// sequence number to a JSON audit event; "audit_by_request" indexes the log
// by request id.
//
// A corrupt file is an error, never a panic (bbolt's panics on corrupt
// pages are recovered as exclusion.ErrCorrupt), and exclusion.Open checks
// every record's checksum and the counts on top.
//
// # Caveats
//
// One process at a time: Open takes an exclusive file lock (waiting up to
// Options.Timeout). For several machines, implement exclusion.Store over a
// shared database (PostgreSQL) and run exclusiontest.TestStore against it.
// Each write costs one fsync (a few milliseconds on SSDs, more on network
// disks); that is the price of durability and is never turned off.
package boltstore
