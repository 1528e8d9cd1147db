package exclusiontest

import "github.com/faceoptout/faceoptout/exclusion/memstore"

// MemStore is an in-memory exclusion.Store (exclusion/memstore): safe for
// concurrent use, never sharing memory with its callers, not durable.
type MemStore = memstore.Store

// NewMemStore returns an empty, uninitialised MemStore.
func NewMemStore() *MemStore { return memstore.New() }
