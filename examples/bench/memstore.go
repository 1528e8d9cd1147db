package main

import (
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/memstore"
)

// newMemStore returns the in-memory store bench filter builds large
// registries in (--store memory): nothing is written to disk, so a million
// faces enrol in minutes.
func newMemStore() exclusion.Store { return memstore.New() }
