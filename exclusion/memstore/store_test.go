package memstore_test

import (
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/exclusion/memstore"
)

func TestStore(t *testing.T) {
	exclusiontest.TestStore(t, func(t *testing.T) exclusion.Store { return memstore.New() })
}
