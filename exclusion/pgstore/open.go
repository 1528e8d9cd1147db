package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
)

// OpenRegistry opens the registry st holds with exclusion.Open, for a
// registry other processes write to meanwhile. exclusion.Open reads the
// counts, then every request, in separate statements: a change committed
// in between (by another writer, or by a writer killed after it sent its
// COMMIT) makes them disagree, which exclusion.Open reports as
// exclusion.ErrCorrupt. OpenRegistry reads the audit sequence number before
// and after each attempt and retries (up to 8 attempts, backing off) only
// when it moved: a disagreement while nothing changed is real damage and is
// returned at once.
//
// On success the Registry owns st.
func OpenRegistry(ctx context.Context, st *Store, emb embed.Embedder, cfg exclusion.Config) (*exclusion.Registry, error) {
	var err error
	for attempt := range 8 {
		var before, after int64
		if before, err = st.auditSeq(ctx); err != nil {
			return nil, err
		}
		var reg *exclusion.Registry
		if reg, err = exclusion.Open(ctx, st, emb, cfg); err == nil {
			return reg, nil
		}
		if !errors.Is(err, exclusion.ErrCorrupt) {
			return nil, err
		}
		if after, _ = st.auditSeq(ctx); after == before {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("pgstore: open registry: %w", ctx.Err())
		case <-time.After(time.Duration(10<<attempt) * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("pgstore: the registry kept changing while it was read: %w", err)
}

// auditSeq returns the last audit sequence number (0 before Init).
func (s *Store) auditSeq(ctx context.Context) (int64, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return 0, err
	}
	defer leave()
	var seq int64
	err = s.pool.QueryRow(ctx, s.q(`SELECT coalesce((SELECT audit_seq FROM {s}.meta), 0)`)).Scan(&seq)
	return seq, wrap(ctx, "audit sequence", err)
}
