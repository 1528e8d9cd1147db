package exclusiontest_test

import (
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

func TestKeyring(t *testing.T) {
	exclusiontest.TestKeyring(t, func(t *testing.T) exclusion.Keyring { return exclusiontest.NewKeyring() }, nil)
}
