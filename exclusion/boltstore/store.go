package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
)

// formatVersion is the layout version written in "meta".
const formatVersion = "3"

var (
	bucketMeta     = []byte("meta")
	bucketRequests = []byte("requests")
	bucketAudit    = []byte("audit")
	bucketAuditBy  = []byte("audit_by_request")
	keyFormat      = []byte("format")
	keyCreated     = []byte("created")
	keyModels      = []byte("models")
	keyCounts      = []byte("counts")
)

// Config configures a Store. As in every Config of faceoptout, the zero
// value of every field means the default: Config{} is DefaultConfig().
type Config struct {
	// Timeout bounds the wait for the file lock held by another process;
	// 0 means 2 seconds.
	Timeout time.Duration
}

// DefaultConfig returns the defaults, spelled out: a 2-second wait for
// the file lock.
func DefaultConfig() Config { return Config{Timeout: 2 * time.Second} }

// Store is a bbolt-backed exclusion.Store. It is safe for concurrent use.
type Store struct {
	path string
	db   *bolt.DB
	// commit commits a write transaction: (*bolt.Tx).Commit, replaced by
	// tests that inject faults.
	commit func(*bolt.Tx) error

	mu     sync.RWMutex // guards closed; held (read) by every call using db
	closed bool

	fmu    sync.Mutex // guards failed
	failed error      // set by the first failed commit; wraps ErrFailed
}

var _ exclusion.Store = (*Store)(nil)

// Create creates a new, empty store file at path (the file must not exist)
// and opens it. Initialise it with exclusion.Create.
func Create(path string, cfg Config) (*Store, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("boltstore: create: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("boltstore: create: %w", err)
	}
	s, err := open(path, cfg)
	if err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Open opens an existing store file. A missing file is an error (wrapping
// os.ErrNotExist): use Create for a new registry.
func Open(path string, cfg Config) (*Store, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("boltstore: open: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("boltstore: open %s: not a regular file", path)
	}
	return open(path, cfg)
}

func open(path string, cfg Config) (*Store, error) {
	o := cfg
	if o.Timeout == 0 {
		o.Timeout = DefaultConfig().Timeout
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("boltstore: open %s: negative Timeout %v", path, o.Timeout)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	err = lockShared(f, o.Timeout)
	if err == nil {
		err = walkFile(f)
	}
	_ = f.Close()
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	var db *bolt.DB
	err = guard(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	if err := verify(db); err != nil {
		_ = guard(db.Close)
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	return &Store{path: path, db: db, commit: (*bolt.Tx).Commit}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("boltstore: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("boltstore: sync dir: %w", err)
	}
	return nil
}

// guard runs fn, turning a panic (bbolt panics on some corrupt pages) into
// an error wrapping exclusion.ErrCorrupt.
func guard(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: boltstore: %v", exclusion.ErrCorrupt, p)
		}
	}()
	return fn()
}

func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	return guard(func() error { return s.db.View(fn) })
}

// update runs fn in a write transaction and commits it. An error of fn
// rolls the transaction back and is returned as is; an error (or a panic)
// while committing means the state of the file is unknown: the Store is
// then failed (ErrFailed) until reopened.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	if err := s.failure(); err != nil {
		return err
	}
	committing := false
	err := guard(func() error {
		tx, err := s.db.Begin(true)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }() // after a panic; a no-op once committed
		if err := fn(tx); err != nil {
			return err
		}
		committing = true
		return s.commit(tx)
	})
	if err != nil && committing {
		return s.fail(err)
	}
	return err
}

// failure returns the error that failed the Store, nil if none did.
func (s *Store) failure() error {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.failed
}

// fail records that a commit failed with err and returns the error every
// later call gets.
func (s *Store) fail(err error) error {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.failed == nil {
		s.failed = fmt.Errorf("%w: %w", ErrFailed, err)
	}
	return s.failed
}

// Path returns the store's file.
func (s *Store) Path() string { return s.path }

// enter checks ctx and that the store is open, and holds the read lock
// until the returned function is called.
func (s *Store) enter(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("boltstore: %w", err)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, exclusion.ErrClosed
	}
	if err := s.failure(); err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	return s.mu.RUnlock, nil
}

type counts struct {
	Requests map[exclusion.Status]int `json:"requests"`
	Faces    int                      `json:"faces"`
	Events   int                      `json:"events"`
}

func corrupt(what string, err error) error {
	return fmt.Errorf("%w: boltstore: %s: %v", exclusion.ErrCorrupt, what, err)
}

// meta returns the meta bucket of an initialised store.
func meta(tx *bolt.Tx) (*bolt.Bucket, error) {
	m := tx.Bucket(bucketMeta)
	if m == nil {
		return nil, exclusion.ErrNoRegistry
	}
	if v := m.Get(keyFormat); string(v) != formatVersion {
		return nil, corrupt("format", fmt.Errorf("version %q, want %q", v, formatVersion))
	}
	for _, b := range [][]byte{bucketRequests, bucketAudit, bucketAuditBy} {
		if tx.Bucket(b) == nil {
			return nil, corrupt("layout", fmt.Errorf("bucket %s missing", b))
		}
	}
	return m, nil
}

func readCounts(m *bolt.Bucket) (counts, error) {
	var c counts
	v, err := get(m, bucketMeta, keyCounts)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(v, &c); err != nil {
		return c, corrupt("counts", err)
	}
	if c.Requests == nil {
		c.Requests = map[exclusion.Status]int{}
	}
	return c, nil
}

// Init implements exclusion.Store.
func (s *Store) Init(ctx context.Context, created time.Time, models []embed.Model) error {
	leave, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	return s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) != nil {
			return exclusion.ErrExists
		}
		m, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		for _, b := range [][]byte{bucketRequests, bucketAudit, bucketAuditBy} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		cb, _ := json.Marshal(counts{Requests: map[exclusion.Status]int{}})
		tb, err := created.MarshalText()
		if err != nil {
			return err
		}
		if err := m.Put(keyFormat, []byte(formatVersion)); err != nil {
			return err
		}
		if err := put(m, bucketMeta, keyCreated, tb); err != nil {
			return err
		}
		mb, err := json.Marshal(models)
		if err != nil {
			return err
		}
		if err := put(m, bucketMeta, keyModels, mb); err != nil {
			return err
		}
		if err := put(m, bucketMeta, keyCounts, cb); err != nil {
			return err
		}
		return ctx.Err()
	})
}

// Stats implements exclusion.Store.
func (s *Store) Stats(ctx context.Context) (exclusion.Stats, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return exclusion.Stats{}, err
	}
	defer leave()
	var st exclusion.Stats
	err = s.view(func(tx *bolt.Tx) error {
		m, err := meta(tx)
		if err != nil {
			return err
		}
		created, err := get(m, bucketMeta, keyCreated)
		if err != nil {
			return err
		}
		if err := st.Created.UnmarshalText(created); err != nil {
			return corrupt("created", err)
		}
		models, err := get(m, bucketMeta, keyModels)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(models, &st.Models); err != nil {
			return corrupt("models", err)
		}
		c, err := readCounts(m)
		if err != nil {
			return err
		}
		st.Requests = map[exclusion.Status]int{}
		for k, v := range c.Requests {
			if v != 0 {
				st.Requests[k] = v
			}
		}
		st.Faces, st.Events = c.Faces, c.Events
		return nil
	})
	return st, err
}

// write stores req (replacing old, nil for an insert) and appends ev, in tx.
func write(tx *bolt.Tx, m *bolt.Bucket, old, req *exclusion.Request, ev exclusion.AuditEvent) error {
	c, err := readCounts(m)
	if err != nil {
		return err
	}
	ds, df := exclusion.CountDelta(old, req)
	for k, v := range ds {
		c.Requests[k] += v
	}
	c.Faces += df
	c.Events++
	rb, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("boltstore: encoding request: %w", err)
	}
	audit := tx.Bucket(bucketAudit)
	var prev exclusion.AuditEvent
	if lk, lb := audit.Cursor().Last(); lb != nil {
		v, err := unseal(bucketAudit, lk, lb)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(v, &prev); err != nil {
			return corrupt("audit event", err)
		}
	}
	seq, err := audit.NextSequence()
	if err != nil {
		return err
	}
	ev.Seq = seq
	exclusion.ChainAudit(prev.Hash, &ev)
	eb, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("boltstore: encoding event: %w", err)
	}
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	if audit.Get(k[:]) != nil { // the bucket's sequence went backwards
		return &CorruptError{Where: where(bucketAudit, k[:]), Problem: "the log's next sequence number is taken"}
	}
	if err := put(audit, bucketAudit, k[:], eb); err != nil {
		return err
	}
	ak := append([]byte(req.ID+"\x00"), k[:]...)
	if err := put(tx.Bucket(bucketAuditBy), bucketAuditBy, ak, nil); err != nil {
		return err
	}
	if err := put(tx.Bucket(bucketRequests), bucketRequests, []byte(req.ID), rb); err != nil {
		return err
	}
	cb, _ := json.Marshal(c)
	return put(m, bucketMeta, keyCounts, cb)
}

func checkID(id string) error {
	if id == "" || len(id) > 256 || bytes.IndexByte([]byte(id), 0) >= 0 {
		return fmt.Errorf("boltstore: bad request id %q", id)
	}
	return nil
}

// Insert implements exclusion.Store.
func (s *Store) Insert(ctx context.Context, req *exclusion.Request, ev exclusion.AuditEvent) error {
	if req == nil || req.Version != 1 {
		return errors.New("boltstore: insert needs a request at version 1")
	}
	if err := checkID(req.ID); err != nil {
		return err
	}
	leave, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	return s.update(func(tx *bolt.Tx) error {
		m, err := meta(tx)
		if err != nil {
			return err
		}
		if tx.Bucket(bucketRequests).Get([]byte(req.ID)) != nil {
			return fmt.Errorf("boltstore: request %q: %w", req.ID, exclusion.ErrExists)
		}
		if err := write(tx, m, nil, req, ev); err != nil {
			return err
		}
		return ctx.Err() // a cancelled call commits nothing
	})
}

// Update implements exclusion.Store.
func (s *Store) Update(ctx context.Context, req *exclusion.Request, ev exclusion.AuditEvent) error {
	if req == nil {
		return errors.New("boltstore: nil request")
	}
	if err := checkID(req.ID); err != nil {
		return err
	}
	leave, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	return s.update(func(tx *bolt.Tx) error {
		m, err := meta(tx)
		if err != nil {
			return err
		}
		ob, err := get(tx.Bucket(bucketRequests), bucketRequests, []byte(req.ID))
		if err != nil {
			return err
		}
		if ob == nil {
			return fmt.Errorf("boltstore: request %q: %w", req.ID, exclusion.ErrNotFound)
		}
		var old exclusion.Request
		if err := json.Unmarshal(ob, &old); err != nil {
			return corrupt("request "+req.ID, err)
		}
		if req.Version != old.Version+1 {
			return fmt.Errorf("boltstore: request %q at version %d, update to %d: %w", req.ID, old.Version, req.Version, exclusion.ErrConflict)
		}
		if err := write(tx, m, &old, req, ev); err != nil {
			return err
		}
		return ctx.Err()
	})
}

// Get implements exclusion.Store.
func (s *Store) Get(ctx context.Context, id string) (*exclusion.Request, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	var r *exclusion.Request
	err = s.view(func(tx *bolt.Tx) error {
		if _, err := meta(tx); err != nil {
			return err
		}
		b, err := get(tx.Bucket(bucketRequests), bucketRequests, []byte(id))
		if err != nil {
			return err
		}
		if b == nil {
			return fmt.Errorf("boltstore: request %q: %w", id, exclusion.ErrNotFound)
		}
		r = new(exclusion.Request)
		if err := json.Unmarshal(b, r); err != nil {
			return corrupt("request "+id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// batch is how many records Requests and Audit read per read transaction;
// they yield outside transactions, so callers may write while iterating.
const batch = 256

// Requests implements exclusion.Store. It yields requests in id order.
func (s *Store) Requests(ctx context.Context) iter.Seq2[*exclusion.Request, error] {
	return func(yield func(*exclusion.Request, error) bool) {
		var after []byte
		for {
			var page []*exclusion.Request
			leave, err := s.enter(ctx)
			if err == nil {
				err = s.view(func(tx *bolt.Tx) error {
					if _, err := meta(tx); err != nil {
						return err
					}
					c := tx.Bucket(bucketRequests).Cursor()
					k, v := c.First()
					if after != nil {
						k, v = c.Seek(after)
						if k != nil && bytes.Equal(k, after) {
							k, v = c.Next()
						}
					}
					for ; k != nil && len(page) < batch; k, v = c.Next() {
						v, err := unseal(bucketRequests, k, v)
						if err != nil {
							return err
						}
						r := new(exclusion.Request)
						if err := json.Unmarshal(v, r); err != nil {
							return corrupt("request "+string(k), err)
						}
						page = append(page, r)
						after = append(after[:0], k...)
					}
					return nil
				})
				leave()
			}
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

// Audit implements exclusion.Store.
func (s *Store) Audit(ctx context.Context, requestID string) iter.Seq2[exclusion.AuditEvent, error] {
	return func(yield func(exclusion.AuditEvent, error) bool) {
		var next uint64 = 1
		for {
			var page []exclusion.AuditEvent
			leave, err := s.enter(ctx)
			if err == nil {
				err = s.view(func(tx *bolt.Tx) error {
					if _, err := meta(tx); err != nil {
						return err
					}
					audit := tx.Bucket(bucketAudit)
					decode := func(k, v []byte) error {
						v, err := unseal(bucketAudit, k, v)
						if err != nil {
							return err
						}
						var ev exclusion.AuditEvent
						if err := json.Unmarshal(v, &ev); err != nil || len(k) != 8 {
							return corrupt("audit event", err)
						}
						page = append(page, ev)
						next = binary.BigEndian.Uint64(k) + 1
						return nil
					}
					var start [8]byte
					binary.BigEndian.PutUint64(start[:], next)
					if requestID == "" {
						c := audit.Cursor()
						for k, v := c.Seek(start[:]); k != nil && len(page) < batch; k, v = c.Next() {
							if err := decode(k, v); err != nil {
								return err
							}
						}
						return nil
					}
					prefix := []byte(requestID + "\x00")
					c := tx.Bucket(bucketAuditBy).Cursor()
					for k, v := c.Seek(append(prefix, start[:]...)); k != nil && bytes.HasPrefix(k, prefix) && len(page) < batch; k, v = c.Next() {
						if _, err := unseal(bucketAuditBy, k, v); err != nil {
							return err
						}
						sk := k[len(prefix):]
						v := audit.Get(sk)
						if v == nil {
							return corrupt("audit index", fmt.Errorf("event %x missing", sk))
						}
						if err := decode(sk, v); err != nil {
							return err
						}
					}
					return nil
				})
				leave()
			}
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

// Close implements exclusion.Store: it waits for calls in flight, then
// closes the file. It is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := guard(s.db.Close); err != nil {
		return fmt.Errorf("boltstore: close: %w", err)
	}
	return nil
}
