package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
)

// Config configures a Store.
type Config struct {
	// DSN is the PostgreSQL connection string (URL or key=value form).
	DSN string
	// Schema is the PostgreSQL schema holding the registry's tables; ""
	// means "faceoptout". Several registries may share a database in
	// different schemas.
	Schema string
	// MaxConns bounds the connection pool; 0 means 8.
	MaxConns int32
	// RetryWake is how long the feed's listener waits before reconnecting
	// after losing its connection; 0 means 1 second.
	RetryWake time.Duration
}

// DefaultConfig returns the defaults; set DSN.
func DefaultConfig() Config {
	return Config{Schema: "faceoptout", MaxConns: 8, RetryWake: time.Second}
}

// Store is an exclusion.Store and exclusion.Feed in a PostgreSQL schema. It
// is safe for concurrent use by any number of goroutines and processes.
type Store struct {
	cfg    Config
	schema string // quoted identifier
	notify string // the NOTIFY channel of the feed
	pool   *pgxpool.Pool

	mu     sync.RWMutex // guards closed; held (read) by every call using pool
	closed bool

	wakeOnce sync.Once
	wake     chan struct{} // cap 1, fed by the listener
	stop     context.CancelFunc
	done     chan struct{} // closed when the listener exits
}

var (
	_ exclusion.Store = (*Store)(nil)
	_ exclusion.Feed  = (*Store)(nil)
)

// Open connects to the database, checks that the server keeps committed
// transactions (fsync on; every transaction of the store commits
// synchronously), and creates or migrates the schema. A new schema holds no
// registry until exclusion.Create initialises it; exclusion.Open on it
// gives exclusion.ErrNoRegistry.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Schema == "" {
		cfg.Schema = "faceoptout"
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 8
	}
	if cfg.RetryWake == 0 {
		cfg.RetryWake = time.Second
	}
	if cfg.MaxConns < 0 || cfg.RetryWake < 0 || len(cfg.Schema) > 48 {
		return nil, fmt.Errorf("pgstore: invalid config (MaxConns %d, RetryWake %v, schema %d bytes)", cfg.MaxConns, cfg.RetryWake, len(cfg.Schema))
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	pc.MaxConns = cfg.MaxConns
	// Durability does not depend on the server's or role's default.
	pc.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	pc.ConnConfig.RuntimeParams["application_name"] = "faceoptout"
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s := &Store{
		cfg: cfg, schema: pgx.Identifier{cfg.Schema}.Sanitize(), notify: "faceoptout_feed." + cfg.Schema,
		pool: pool, wake: make(chan struct{}, 1),
	}
	if err := s.checkDurable(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) checkDurable(ctx context.Context) error {
	var fsync, sync string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&fsync, &sync); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	if fsync != "on" || (sync != "on" && sync != "remote_write" && sync != "remote_apply") {
		return fmt.Errorf("%w: fsync=%s synchronous_commit=%s", ErrNotDurable, fsync, sync)
	}
	return nil
}

// Schema returns the schema's name.
func (s *Store) Schema() string { return s.cfg.Schema }

// enter checks ctx and that the store is open, and holds the read lock
// until the returned function is called.
func (s *Store) enter(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, exclusion.ErrClosed
	}
	return s.mu.RUnlock, nil
}

// wrap adds the package prefix and keeps ctx's error visible to errors.Is
// when the call was cut short by it.
func wrap(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, exclusion.ErrNoRegistry) || errors.Is(err, exclusion.ErrExists) || errors.Is(err, exclusion.ErrNotFound) ||
		errors.Is(err, exclusion.ErrConflict) || errors.Is(err, exclusion.ErrCorrupt) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("pgstore: %s: %w (%w)", what, cerr, err)
	}
	return fmt.Errorf("pgstore: %s: %w", what, err)
}

func corrupt(what string, err error) error {
	return fmt.Errorf("%w: pgstore: %s: %v", exclusion.ErrCorrupt, what, err)
}

type counts struct {
	Requests map[exclusion.Status]int `json:"requests"`
	Faces    int                      `json:"faces"`
	Events   int                      `json:"events"`
}

// Init implements exclusion.Store.
func (s *Store) Init(ctx context.Context, created time.Time, models []embed.Model) error {
	leave, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	tb, err := created.MarshalText()
	if err != nil {
		return fmt.Errorf("pgstore: init: %w", err)
	}
	mb, err := json.Marshal(models)
	if err != nil {
		return fmt.Errorf("pgstore: init: %w", err)
	}
	cb, _ := json.Marshal(counts{Requests: map[exclusion.Status]int{}})
	tag, err := s.pool.Exec(ctx, s.q(`INSERT INTO {s}.meta (created, models, counts) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`),
		string(tb), string(mb), string(cb))
	if err != nil {
		return wrap(ctx, "init", err)
	}
	if tag.RowsAffected() == 0 {
		return exclusion.ErrExists
	}
	return nil
}

// Stats implements exclusion.Store.
func (s *Store) Stats(ctx context.Context) (exclusion.Stats, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return exclusion.Stats{}, err
	}
	defer leave()
	var created, ms, cs string
	err = s.pool.QueryRow(ctx, s.q(`SELECT created, models, counts FROM {s}.meta`)).Scan(&created, &ms, &cs)
	if errors.Is(err, pgx.ErrNoRows) {
		return exclusion.Stats{}, exclusion.ErrNoRegistry
	}
	if err != nil {
		return exclusion.Stats{}, wrap(ctx, "stats", err)
	}
	var st exclusion.Stats
	if err := st.Created.UnmarshalText([]byte(created)); err != nil {
		return exclusion.Stats{}, corrupt("created", err)
	}
	if err := json.Unmarshal([]byte(ms), &st.Models); err != nil {
		return exclusion.Stats{}, corrupt("models", err)
	}
	c, err := decodeCounts(cs)
	if err != nil {
		return exclusion.Stats{}, err
	}
	st.Requests = map[exclusion.Status]int{}
	for k, v := range c.Requests {
		if v != 0 {
			st.Requests[k] = v
		}
	}
	st.Faces, st.Events = c.Faces, c.Events
	return st, nil
}

func decodeCounts(cs string) (counts, error) {
	var c counts
	if err := json.Unmarshal([]byte(cs), &c); err != nil {
		return c, corrupt("counts", err)
	}
	if c.Requests == nil {
		c.Requests = map[exclusion.Status]int{}
	}
	return c, nil
}

func checkID(id string) error {
	if id == "" || len(id) > 256 || strings.IndexByte(id, 0) >= 0 {
		return fmt.Errorf("pgstore: bad request id %q", id)
	}
	return nil
}

// write runs one change in a transaction: it locks the meta row (so
// changes, their audit Seq and their feed Seq are serialised in commit
// order), reads the stored request (nil if none), lets check refuse it,
// and writes req, its audit event, the counts and, if what blocks changes,
// a feed entry with a NOTIFY. It returns once the commit is durable.
func (s *Store) write(ctx context.Context, req *exclusion.Request, ev exclusion.AuditEvent, check func(old *exclusion.Request) error) error {
	rb, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("pgstore: encoding request: %w", err)
	}
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var cs string
		var auditSeq, feedSeq int64
		err := tx.QueryRow(ctx, s.q(`SELECT counts, audit_seq, feed_seq FROM {s}.meta FOR UPDATE`)).Scan(&cs, &auditSeq, &feedSeq)
		if errors.Is(err, pgx.ErrNoRows) {
			return exclusion.ErrNoRegistry
		}
		if err != nil {
			return err
		}
		c, err := decodeCounts(cs)
		if err != nil {
			return err
		}
		var old *exclusion.Request
		var ob string
		switch err := tx.QueryRow(ctx, s.q(`SELECT doc FROM {s}.requests WHERE id = $1`), req.ID).Scan(&ob); {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		default:
			old = new(exclusion.Request)
			if err := json.Unmarshal([]byte(ob), old); err != nil {
				return corrupt("request "+req.ID, err)
			}
		}
		if err := check(old); err != nil {
			return err
		}
		ds, df := exclusion.CountDelta(old, req)
		for k, v := range ds {
			c.Requests[k] += v
		}
		c.Faces += df
		c.Events++
		var prevHash string
		switch err := tx.QueryRow(ctx, s.q(`SELECT coalesce(doc::jsonb->>'hash', '') FROM {s}.audit WHERE seq = $1`), auditSeq).Scan(&prevHash); {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		}
		auditSeq++
		ev.Seq = uint64(auditSeq)
		exclusion.ChainAudit(prevHash, &ev)
		eb, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("pgstore: encoding event: %w", err)
		}
		b := &pgx.Batch{}
		b.Queue(s.q(`INSERT INTO {s}.requests (id, version, status, doc) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET version = excluded.version, status = excluded.status, doc = excluded.doc`),
			req.ID, int64(req.Version), string(req.Status), string(rb))
		b.Queue(s.q(`INSERT INTO {s}.audit (seq, request_id, doc) VALUES ($1, $2, $3)`), auditSeq, req.ID, string(eb))
		if exclusion.FeedChange(old, req) {
			feedSeq++
			b.Queue(s.q(`INSERT INTO {s}.feed (seq, request_id, status, at) VALUES ($1, $2, $3, now())`), feedSeq, req.ID, string(req.Status))
			b.Queue(`SELECT pg_notify($1, $2)`, s.notify, fmt.Sprint(feedSeq))
		}
		cb, _ := json.Marshal(c)
		b.Queue(s.q(`UPDATE {s}.meta SET counts = $1, audit_seq = $2, feed_seq = $3`), string(cb), auditSeq, feedSeq)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return ctx.Err() // a cancelled call commits nothing
	})
}

// Insert implements exclusion.Store.
func (s *Store) Insert(ctx context.Context, req *exclusion.Request, ev exclusion.AuditEvent) error {
	if req == nil || req.Version != 1 {
		return errors.New("pgstore: insert needs a request at version 1")
	}
	if err := checkID(req.ID); err != nil {
		return err
	}
	leave, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	err = s.write(ctx, req, ev, func(old *exclusion.Request) error {
		if old != nil {
			return fmt.Errorf("pgstore: request %q: %w", req.ID, exclusion.ErrExists)
		}
		return nil
	})
	return wrap(ctx, "insert", err)
}

// Update implements exclusion.Store.
func (s *Store) Update(ctx context.Context, req *exclusion.Request, ev exclusion.AuditEvent) error {
	if req == nil {
		return errors.New("pgstore: nil request")
	}
	if err := checkID(req.ID); err != nil {
		return err
	}
	leave, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	err = s.write(ctx, req, ev, func(old *exclusion.Request) error {
		if old == nil {
			return fmt.Errorf("pgstore: request %q: %w", req.ID, exclusion.ErrNotFound)
		}
		if req.Version != old.Version+1 {
			return fmt.Errorf("pgstore: request %q at version %d, update to %d: %w", req.ID, old.Version, req.Version, exclusion.ErrConflict)
		}
		return nil
	})
	return wrap(ctx, "update", err)
}

// initialised returns ErrNoRegistry if the meta row is missing.
func (s *Store) initialised(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) error {
	var one bool
	err := q.QueryRow(ctx, s.q(`SELECT true FROM {s}.meta`)).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return exclusion.ErrNoRegistry
	}
	return err
}

// Get implements exclusion.Store.
func (s *Store) Get(ctx context.Context, id string) (*exclusion.Request, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	var doc *string
	// One statement: the registry check and the read see one snapshot.
	err = s.pool.QueryRow(ctx, s.q(`SELECT (SELECT doc FROM {s}.requests WHERE id = $1) FROM {s}.meta`), id).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, exclusion.ErrNoRegistry
	}
	if err != nil {
		return nil, wrap(ctx, "get", err)
	}
	if doc == nil {
		return nil, fmt.Errorf("pgstore: request %q: %w", id, exclusion.ErrNotFound)
	}
	r := new(exclusion.Request)
	if err := json.Unmarshal([]byte(*doc), r); err != nil {
		return nil, corrupt("request "+id, err)
	}
	return r, nil
}

// batch is how many records Requests, Audit and Changes read per query;
// they yield between queries, holding no connection, so callers may write
// while iterating.
const batch = 256

// Requests implements exclusion.Store. It yields requests in id order
// (byte order), one page per query: a request stored throughout the
// iteration is yielded exactly once.
func (s *Store) Requests(ctx context.Context) iter.Seq2[*exclusion.Request, error] {
	return func(yield func(*exclusion.Request, error) bool) {
		after, first := "", true
		for {
			var page []*exclusion.Request
			err := s.readPage(ctx, func() error {
				if first {
					if err := s.initialised(ctx, s.pool); err != nil {
						return err
					}
				}
				rows, err := s.pool.Query(ctx, s.q(`SELECT id, doc FROM {s}.requests WHERE id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2`), after, batch)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var id, doc string
					if err := rows.Scan(&id, &doc); err != nil {
						return err
					}
					r := new(exclusion.Request)
					if err := json.Unmarshal([]byte(doc), r); err != nil {
						return corrupt("request "+id, err)
					}
					page = append(page, r)
					after = id
				}
				return rows.Err()
			})
			first = false
			if err != nil {
				yield(nil, err)
				return
			}
			for _, r := range page {
				if !yield(r, nil) {
					return
				}
			}
			if len(page) < batch {
				return
			}
		}
	}
}

// readPage runs one read under the store's lock.
func (s *Store) readPage(ctx context.Context, fn func() error) error {
	leave, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	return wrap(ctx, "read", fn())
}

// Audit implements exclusion.Store.
func (s *Store) Audit(ctx context.Context, requestID string) iter.Seq2[exclusion.AuditEvent, error] {
	return func(yield func(exclusion.AuditEvent, error) bool) {
		var after int64
		first := true
		for {
			var page []exclusion.AuditEvent
			err := s.readPage(ctx, func() error {
				if first {
					if err := s.initialised(ctx, s.pool); err != nil {
						return err
					}
				}
				var rows pgx.Rows
				var err error
				if requestID == "" {
					rows, err = s.pool.Query(ctx, s.q(`SELECT seq, doc FROM {s}.audit WHERE seq > $1 ORDER BY seq LIMIT $2`), after, batch)
				} else {
					rows, err = s.pool.Query(ctx, s.q(`SELECT seq, doc FROM {s}.audit WHERE request_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`), requestID, after, batch)
				}
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var seq int64
					var doc string
					if err := rows.Scan(&seq, &doc); err != nil {
						return err
					}
					var ev exclusion.AuditEvent
					if err := json.Unmarshal([]byte(doc), &ev); err != nil {
						return corrupt(fmt.Sprint("audit event ", seq), err)
					}
					page = append(page, ev)
					after = seq
				}
				return rows.Err()
			})
			first = false
			if err != nil {
				yield(exclusion.AuditEvent{}, err)
				return
			}
			for _, ev := range page {
				if !yield(ev, nil) {
					return
				}
			}
			if len(page) < batch {
				return
			}
		}
	}
}

// Close implements exclusion.Store: it stops the feed's listener, waits for
// calls in flight, then closes the pool. It is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	stop, done := s.stop, s.done
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	s.pool.Close()
	return nil
}
