package pgtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/faceoptout/faceoptout/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestDatabase(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			conn, err := pgx.Connect(ctx, pgtest.Database(t))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			var fsync, sync string
			if err := conn.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&fsync, &sync); err != nil {
				t.Fatal(err)
			}
			if fsync != "on" || sync != "on" {
				t.Errorf("fsync=%s synchronous_commit=%s, want both on", fsync, sync)
			}
		})
	}
}

func TestStopStart(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Own(t)
	dsn := pgtest.NewDatabase(t, c)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, dsn); err == nil {
		t.Fatal("connected to a killed server")
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err = pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT n FROM kept`).Scan(&n); err != nil || n != 42 {
		t.Fatalf("after kill -9 and restart: %d, %v", n, err)
	}
}
