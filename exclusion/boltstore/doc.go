// Package boltstore is the default, embedded exclusion.Store: one bbolt file
// (go.etcd.io/bbolt) on local disk.
//
// # Basics
//
//	st, err := boltstore.Create("registry.db", boltstore.Config{}) // a new registry file; fails if it exists
//	reg, err := exclusion.Create(ctx, st, emb, exclusion.DefaultConfig())
//
//	st, err := boltstore.Open("registry.db", boltstore.Config{}) // an existing file; fails if it is missing
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
// Layout: bucket "meta" holds the format version, the creation time, the
// models and the counts (exclusion.Stats), updated in the same transaction
// as each change; "requests" maps request id to its JSON record; "audit"
// maps a big-endian sequence number to a JSON audit event;
// "audit_by_request" indexes the log by request id. Every value is sealed
// with the CRC-32C of its bucket, key and content.
//
// Open checks the whole file before serving anything, reading it with
// ReadAt rather than through bbolt's memory map: both meta pages against
// their checksums (bbolt would silently fall back to the older one, the
// registry one transaction earlier), every page reachable from the newest
// meta page (type, element bounds, child ids, key order, the freelist), the
// seal of every key and value, then bbolt's own check of used and free
// pages. Damage is a *CorruptError saying where (a meta page, a page and
// its offset, a bucket and key), wrapping exclusion.ErrCorrupt; bbolt never
// sees a file whose offsets could make it read outside its mapping. On top,
// exclusion.Open checks every record's checksum and the counts.
//
// A write whose commit fails (a write or fsync error, a full disk) returns
// an error wrapping ErrFailed and the cause, and fails the Store: whether the
// transaction reached the disk is unknown (after a failed fsync the kernel
// may have dropped the dirty pages), so every later call returns that error
// and nothing more is acknowledged until the Store is closed and opened
// again, which verifies the file.
//
// # Caveats
//
// Verification reads every used page at Open: time proportional to the
// file. A meta page that fails its checksum is refused even where bbolt's
// fallback would be right (a meta page torn by a power failure during a
// commit that was never acknowledged): restore from a backup, or open a
// copy with bbolt's tools.
//
// One process at a time: Open takes an exclusive file lock (waiting up to
// Config.Timeout). For several machines, implement exclusion.Store over a
// shared database (PostgreSQL) and run exclusiontest.TestStore against it.
// Each write costs one fsync (a few milliseconds on SSDs, more on network
// disks); that is the price of durability and is never turned off.
package boltstore
