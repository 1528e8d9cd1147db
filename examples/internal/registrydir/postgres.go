package registrydir

import (
	"context"
	"strings"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/pgstore"
)

// IsPostgres reports whether a registry location is a PostgreSQL connection
// string (postgres:// or postgresql://) rather than a directory: the
// registry then lives in PostgreSQL (exclusion/pgstore, schema
// "faceoptout"), shared by every process that names it, and replicas
// (examples/replicas) see its approvals live.
func IsPostgres(loc string) bool {
	return strings.HasPrefix(loc, "postgres://") || strings.HasPrefix(loc, "postgresql://")
}

// postgres creates (create) or opens the registry at a PostgreSQL location
// with rcfg.
func postgres(ctx context.Context, dsn string, emb Embedder, create bool, rcfg exclusion.Config) (*exclusion.Registry, error) {
	cfg := pgstore.DefaultConfig()
	cfg.DSN = dsn
	st, err := pgstore.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var reg *exclusion.Registry
	if create {
		reg, err = exclusion.Create(ctx, st, emb.Embedder, rcfg)
	} else {
		reg, err = pgstore.OpenRegistry(ctx, st, emb.Embedder, rcfg)
	}
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return reg, nil
}
