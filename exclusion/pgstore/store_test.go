package pgstore_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/exclusion/pgstore"
	"github.com/faceoptout/faceoptout/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var schemas atomic.Uint64

// open opens a store in a new schema of one database shared by the test.
func open(t *testing.T, dsn string) *pgstore.Store {
	t.Helper()
	cfg := pgstore.DefaultConfig()
	cfg.DSN = dsn
	cfg.Schema = fmt.Sprintf("s%d", schemas.Add(1))
	s, err := pgstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	dsn := pgtest.Database(t)
	exclusiontest.TestStore(t, func(t *testing.T) exclusion.Store { return open(t, dsn) })
}
