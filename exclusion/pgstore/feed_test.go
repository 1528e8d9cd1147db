package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/exclusion/pgstore"
	"github.com/faceoptout/faceoptout/internal/pgtest"
)

func ev(id string, a exclusion.Action) exclusion.AuditEvent {
	return exclusion.AuditEvent{Time: time.Now().UTC().Truncate(time.Microsecond), Actor: "test", RequestID: id, Action: a}
}

func TestFeed(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t)
	w := open(t, dsn)
	defer w.Close()
	if _, err := w.Head(ctx); !errors.Is(err, exclusion.ErrNoRegistry) {
		t.Fatalf("Head before Init: %v, want ErrNoRegistry", err)
	}
	if err := w.Init(ctx, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	// A second process on the same schema.
	cfg := pgstore.DefaultConfig()
	cfg.DSN, cfg.Schema = dsn, w.Schema()
	r, err := pgstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	wake := r.Wake()
	// The listener announces itself once connected.
	select {
	case <-wake:
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up after the listener connected")
	}

	steps := []struct {
		name   string
		id     string
		status exclusion.Status
		faces  int
		feed   bool // a feed entry is expected
	}{
		{"submit", "a", exclusion.Pending, 1, false},
		{"approve", "a", exclusion.Approved, 1, true},
		{"submit other", "b", exclusion.Pending, 2, false},
		{"reject other", "b", exclusion.Rejected, 0, false},
		{"withdraw", "a", exclusion.Withdrawn, 0, true},
	}
	versions := map[string]uint64{}
	var head uint64
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			req := exclusiontest.SampleRequest(s.id, s.status, s.faces)
			versions[s.id]++
			req.Version = versions[s.id]
			if req.Version == 1 {
				err = w.Insert(ctx, req, ev(s.id, exclusion.ActionSubmit))
			} else {
				err = w.Update(ctx, req, ev(s.id, exclusion.ActionApprove))
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.feed {
				head++
				select {
				case <-wake:
				case <-time.After(10 * time.Second):
					t.Fatal("no wake-up after a feed change")
				}
			}
			got, err := r.Head(ctx)
			if err != nil || got != head {
				t.Fatalf("Head = %d, %v; want %d", got, err, head)
			}
		})
	}
	cs, err := r.Changes(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Seq != 1 || cs[0].RequestID != "a" || cs[0].Status != exclusion.Approved ||
		cs[1].Seq != 2 || cs[1].Status != exclusion.Withdrawn {
		t.Fatalf("changes %+v", cs)
	}
	if cs, err := r.Changes(ctx, 1, 10); err != nil || len(cs) != 1 || cs[0].Seq != 2 {
		t.Fatalf("changes after 1: %+v, %v", cs, err)
	}
	if cs, err := r.Changes(ctx, 2, 10); err != nil || len(cs) != 0 {
		t.Fatalf("changes after the head: %+v, %v", cs, err)
	}
	if cs, err := r.Changes(ctx, 0, 1); err != nil || len(cs) != 1 {
		t.Fatalf("limit 1: %+v, %v", cs, err)
	}
}

func TestWakeSurvivesServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	c := pgtest.Own(t)
	cfg := pgstore.DefaultConfig()
	cfg.DSN, cfg.RetryWake = pgtest.NewDatabase(t, c), 100*time.Millisecond
	s, err := pgstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Init(ctx, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	wake := s.Wake()
	<-wake
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Head(ctx); err == nil {
		t.Fatal("Head with the server stopped")
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake: // reconnected
	case <-time.After(20 * time.Second):
		t.Fatal("the listener did not reconnect")
	}
	if err := s.Insert(ctx, exclusiontest.SampleRequest("x", exclusion.Approved, 1), ev("x", exclusion.ActionSubmit)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up after reconnecting")
	}
	if h, err := s.Head(ctx); err != nil || h != 1 {
		t.Fatalf("head %d, %v", h, err)
	}
}

func TestSchemaVersion(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t)
	s := open(t, dsn)
	schema := s.Schema()
	s.Close()
	// Opening twice migrates nothing and keeps data.
	cfg := pgstore.DefaultConfig()
	cfg.DSN, cfg.Schema = dsn, schema
	s2, err := pgstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema}.Sanitize()+`.schema_version (version) VALUES (999)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.Open(ctx, cfg); !errors.Is(err, pgstore.ErrSchema) {
		t.Fatalf("Open on a newer schema: %v, want ErrSchema", err)
	}
}

func TestConfig(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  pgstore.Config
	}{
		{"bad dsn", pgstore.Config{DSN: "::not a dsn::"}},
		{"negative conns", pgstore.Config{DSN: "postgres://127.0.0.1:1/x", MaxConns: -1}},
		{"long schema", pgstore.Config{DSN: "postgres://127.0.0.1:1/x", Schema: string(make([]byte, 49))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := pgstore.Open(ctx, tt.cfg); err == nil {
				s.Close()
				t.Fatal("opened")
			}
		})
	}
}
