package exclusiontest_test

import (
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

func TestMemStore(t *testing.T) {
	exclusiontest.TestStore(t, func(t *testing.T) exclusion.Store { return exclusiontest.NewMemStore() })
}
