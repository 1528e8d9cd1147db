// Package memstore is an in-memory exclusion.Store: every request and audit
// event in the process's memory, nothing on disk.
//
// # Basics
//
// New returns an empty store; exclusion.Create initialises it as a registry
// like any other Store. It passes exclusiontest.TestStore, the conformance
// suite of every store. Tests use it through exclusiontest.NewMemStore;
// programs that need a registry for a measurement (examples/bench builds
// registries of a million faces in it) use it directly.
//
// # Caveats
//
// It is not durable: everything is lost with the process, so it breaks the
// Store contract's durability clause on purpose and must never hold a
// registry whose acknowledged requests matter. Requests are kept encoded
// (JSON), so a large registry costs memory in proportion to its requests.
package memstore
