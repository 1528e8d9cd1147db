package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

func TestConformance(t *testing.T) {
	exclusiontest.TestStore(t, func(t *testing.T) exclusion.Store {
		s, err := boltstore.Create(filepath.Join(t.TempDir(), "registry.db"), boltstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
