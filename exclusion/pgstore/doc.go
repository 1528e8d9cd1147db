// Package pgstore is an exclusion.Store in PostgreSQL, for registries that
// several machines share: crawlers and search replicas follow it live
// through its change feed (exclusion.Feed, exclusion.Replica), and any
// number of processes may write to it at once.
//
// # Basics
//
//	cfg := pgstore.DefaultConfig()
//	cfg.DSN = "postgres://faceoptout@db.internal/registry"
//	st, err := pgstore.Open(ctx, cfg)                   // creates or migrates the schema
//	reg, err := exclusion.Create(ctx, st, emb, exclusion.DefaultConfig()) // once, for a new registry
//	reg, err := pgstore.OpenRegistry(ctx, st, emb, exclusion.DefaultConfig()) // afterwards (exclusion.Open, retried while others write)
//
// Layout, in Config.Schema (default "faceoptout"): meta (one row: creation
// time, models, counts, the last audit and feed sequence numbers),
// requests (id, version, status and the request's JSON), audit (sequence
// number, request id, the event's JSON), feed (sequence number, request id,
// status after the change, time) and schema_version. The schema's
// migrations are versioned in the code (schema.go) and run at Open under an
// advisory lock; a schema newer than the program gives ErrSchema.
//
// Every change is one transaction that first locks the meta row: changes
// are serialised, the audit and feed sequence numbers are consecutive and
// in commit order, and a reader that has seen feed entry n has seen every
// entry before it. A change that moves a request into or out of Approved
// adds a feed entry and a NOTIFY on channel "faceoptout_feed.<schema>"
// (delivered at commit). Wake listens on its own connection; readers use it
// to wake up and read the feed by sequence number, which stays the source
// of truth.
//
// Durability: every connection sets synchronous_commit=on, and Open refuses
// a server with fsync off (ErrNotDurable), so Insert and Update return only
// once the commit is on disk: an acknowledged request survives a crash of
// the client or of the server.
//
// # Caveats
//
// Writers serialise on the meta row: throughput is bounded by one commit
// (one WAL flush) at a time. Stats and Requests are separate reads: a
// registry opened with exclusion.Open while another process writes may see
// counts that differ from what it read and refuse to open with
// exclusion.ErrCorrupt. Open writers with OpenRegistry, which retries only
// when the audit sequence moved during the read (so real damage is still
// reported at once); exclusion.Replica reads the feed instead and is not
// affected. Requests pages through the table by id (256 per query):
// a long iteration is not one snapshot, but each request stored throughout
// is yielded exactly once.
//
// # Security Considerations
//
// The database holds what a registry holds (descriptors, hashes, contact
// details of requesters): restrict the role, use TLS in the DSN
// (sslmode=verify-full) off the local machine, and never log the DSN with
// its password. Request ids and every value are passed as query
// parameters; the schema name is quoted as an identifier. No image bytes
// are stored.
package pgstore
