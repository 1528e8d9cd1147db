// Package pgtest gives tests a PostgreSQL server: one throwaway cluster
// (internal/pgcluster) per test binary, started on first use, and a fresh
// schema or database per test.
//
// # Basics
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		c := pgtest.Cluster(t)          // skips, or fails under CI=true, when PostgreSQL cannot start
//		dsn := pgtest.Database(t)       // a new, empty database on it
//	}
//
// # Caveats
//
// Outside CI a test is skipped, with the reason, when PostgreSQL cannot be
// started (not installed, no postgres user when root). Under CI=true that
// is a failure: tests needing PostgreSQL must run there. Tests that stop or
// kill the server use their own cluster (Own), never the shared one.
//
// # Security Considerations
//
// The clusters trust every local connection; they hold test data only.
package pgtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faceoptout/faceoptout/internal/pgcluster"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

var (
	mu      sync.Mutex // guards shared and err
	shared  *pgcluster.Cluster
	failure error
	seq     atomic.Uint64
)

// Main runs the tests and removes the shared cluster afterwards; call it
// from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		shared.Remove()
		shared = nil
	}
	return code
}

// Cluster returns the binary's shared cluster, starting it on first use.
func Cluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if shared == nil && failure == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		shared, failure = pgcluster.Start(ctx, pgcluster.DefaultConfig())
		cancel()
	}
	if failure != nil {
		unavailable(t, failure)
	}
	return shared
}

// Own starts a cluster for t alone (for tests that stop or kill it),
// removed when t ends.
func Own(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.DefaultConfig())
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(c.Remove)
	return c
}

// Database creates a new, empty database on the shared cluster and returns
// its connection string.
func Database(t testing.TB) string {
	t.Helper()
	return NewDatabase(t, Cluster(t))
}

// NewDatabase creates a new, empty database on c and returns its
// connection string.
func NewDatabase(t testing.TB, c *pgcluster.Cluster) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", seq.Add(1), sanitize(t.Name()))
	if len(name) > 60 {
		name = name[:60]
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return c.DSN(name)
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '_'
	}, s)
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if testenv.CI() {
		t.Fatalf("CI=true: PostgreSQL is needed and could not be started: %v", err)
	}
	t.Skipf("PostgreSQL could not be started (install Debian's postgresql-15; under CI=true this fails): %v", err)
}
