package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faceoptout/faceoptout/exclusion"
)

// Head implements exclusion.Feed.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return 0, err
	}
	defer leave()
	var seq int64
	err = s.pool.QueryRow(ctx, s.q(`SELECT feed_seq FROM {s}.meta`)).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, exclusion.ErrNoRegistry
	}
	if err != nil {
		return 0, wrap(ctx, "feed head", err)
	}
	return uint64(seq), nil
}

// Changes implements exclusion.Feed.
func (s *Store) Changes(ctx context.Context, after uint64, limit int) ([]exclusion.Change, error) {
	if limit <= 0 {
		return nil, nil
	}
	leave, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	rows, err := s.pool.Query(ctx, s.q(`SELECT seq, request_id, status, at FROM {s}.feed WHERE seq > $1 ORDER BY seq LIMIT $2`), int64(after), limit)
	if err != nil {
		return nil, wrap(ctx, "feed", err)
	}
	defer rows.Close()
	var out []exclusion.Change
	for rows.Next() {
		var c exclusion.Change
		var seq int64
		var st string
		if err := rows.Scan(&seq, &c.RequestID, &st, &c.Time); err != nil {
			return nil, wrap(ctx, "feed", err)
		}
		c.Seq, c.Status = uint64(seq), exclusion.Status(st)
		if c.Seq != after+uint64(len(out))+1 {
			return nil, corrupt("feed", fmt.Errorf("change %d follows %d", c.Seq, after+uint64(len(out))))
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(ctx, "feed", err)
	}
	return out, nil
}

// Wake implements exclusion.Feed. The first call starts a listener on its
// own connection (LISTEN); it reconnects after RetryWake when the
// connection is lost and sends a wake-up after each reconnection, since
// notifications sent meanwhile are lost.
func (s *Store) Wake() <-chan struct{} {
	s.wakeOnce.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		s.stop, s.done = cancel, make(chan struct{})
		go s.listen(ctx)
	})
	return s.wake
}

func (s *Store) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Store) listen(ctx context.Context) {
	defer close(s.done)
	for ctx.Err() == nil {
		err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		_ = err // the reader's poll covers the gap; its staleness reports the outage
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.cfg.RetryWake):
		}
	}
}

func (s *Store) listenOnce(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, s.pool.Config().ConnConfig.Copy())
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.notify}.Sanitize()); err != nil {
		return err
	}
	s.poke() // changes made while not listening
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		s.poke()
	}
}
