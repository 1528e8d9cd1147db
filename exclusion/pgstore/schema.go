package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrations are the schema's versions, in order: migrations[i] takes the
// schema from version i to i+1. Each runs in one transaction with its
// version row; a released migration is never edited, only followed by a
// new one. "{s}" stands for the quoted schema name.
var migrations = []string{
	// 1: the registry, its audit log and its change feed.
	`CREATE TABLE {s}.meta (
		one boolean PRIMARY KEY DEFAULT true CHECK (one),
		created text NOT NULL,
		models text NOT NULL,
		counts text NOT NULL,
		audit_seq bigint NOT NULL DEFAULT 0,
		feed_seq bigint NOT NULL DEFAULT 0
	);
	CREATE TABLE {s}.requests (
		id text PRIMARY KEY,
		version bigint NOT NULL,
		status text NOT NULL,
		doc text NOT NULL
	);
	CREATE TABLE {s}.audit (
		seq bigint PRIMARY KEY,
		request_id text NOT NULL,
		doc text NOT NULL
	);
	CREATE INDEX audit_by_request ON {s}.audit (request_id, seq);
	CREATE TABLE {s}.feed (
		seq bigint PRIMARY KEY,
		request_id text NOT NULL,
		status text NOT NULL,
		at timestamptz NOT NULL
	);`,
}

// schemaVersion is the version this code reads and writes.
var schemaVersion = len(migrations)

func (s *Store) q(sql string) string { return strings.ReplaceAll(sql, "{s}", s.schema) }

// migrate brings the schema to schemaVersion, under an advisory lock so that
// processes opening the same registry at once migrate it once. A schema
// newer than this code is an error (ErrSchema): an old binary never writes
// to a layout it does not know.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "faceoptout.pgstore:"+s.schema); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if _, err := tx.Exec(ctx, s.q(`CREATE SCHEMA IF NOT EXISTS {s}`)); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if _, err := tx.Exec(ctx, s.q(`CREATE TABLE IF NOT EXISTS {s}.schema_version (
		version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())`)); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	var have int
	if err := tx.QueryRow(ctx, s.q(`SELECT coalesce(max(version), 0) FROM {s}.schema_version`)).Scan(&have); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if have > schemaVersion {
		return fmt.Errorf("%w: schema %s is at version %d, this program knows %d", ErrSchema, s.schema, have, schemaVersion)
	}
	for v := have; v < schemaVersion; v++ {
		if _, err := tx.Exec(ctx, s.q(migrations[v])); err != nil {
			return fmt.Errorf("pgstore: migration %d: %w", v+1, err)
		}
		if _, err := tx.Exec(ctx, s.q(`INSERT INTO {s}.schema_version (version) VALUES ($1)`), v+1); err != nil {
			return fmt.Errorf("pgstore: migration %d: %w", v+1, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}
