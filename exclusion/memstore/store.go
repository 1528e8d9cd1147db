package memstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
)

// Store is an in-memory exclusion.Store. It is safe for concurrent use and
// keeps encoded copies, so callers never share memory with it. It is not
// durable.
type Store struct {
	mu      sync.Mutex // guards everything below
	closed  bool
	init    bool
	created time.Time
	models  []embed.Model
	reqs    map[string][]byte // id -> JSON of *exclusion.Request
	events  []exclusion.AuditEvent
	counts  map[exclusion.Status]int
	faces   int
}

var _ exclusion.Store = (*Store)(nil)

// New returns an empty, uninitialised Store.
func New() *Store {
	return &Store{reqs: map[string][]byte{}, counts: map[exclusion.Status]int{}}
}

func (m *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	if m.closed {
		return exclusion.ErrClosed
	}
	if !m.init {
		return exclusion.ErrNoRegistry
	}
	return nil
}

// Init implements exclusion.Store.
func (m *Store) Init(ctx context.Context, created time.Time, models []embed.Model) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	if m.closed {
		return exclusion.ErrClosed
	}
	if m.init {
		return exclusion.ErrExists
	}
	m.init, m.created, m.models = true, created, slices.Clone(models)
	return nil
}

// Stats implements exclusion.Store.
func (m *Store) Stats(ctx context.Context) (exclusion.Stats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return exclusion.Stats{}, err
	}
	st := exclusion.Stats{Created: m.created, Models: slices.Clone(m.models), Requests: map[exclusion.Status]int{}, Faces: m.faces, Events: len(m.events)}
	for k, v := range m.counts {
		if v != 0 {
			st.Requests[k] = v
		}
	}
	return st, nil
}

func (m *Store) apply(old, new *exclusion.Request, b []byte, ev exclusion.AuditEvent) {
	ds, df := exclusion.CountDelta(old, new)
	for k, v := range ds {
		m.counts[k] += v
	}
	m.faces += df
	m.reqs[new.ID] = b
	ev.Seq = uint64(len(m.events) + 1)
	prev := ""
	if len(m.events) > 0 {
		prev = m.events[len(m.events)-1].Hash
	}
	exclusion.ChainAudit(prev, &ev)
	m.events = append(m.events, ev)
}

// Insert implements exclusion.Store.
func (m *Store) Insert(ctx context.Context, req *exclusion.Request, ev exclusion.AuditEvent) error {
	if req == nil || req.ID == "" || req.Version != 1 {
		return fmt.Errorf("memstore: insert needs a request with an id and version 1")
	}
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return err
	}
	if _, ok := m.reqs[req.ID]; ok {
		return fmt.Errorf("memstore: request %q: %w", req.ID, exclusion.ErrExists)
	}
	m.apply(nil, req, b, ev)
	return nil
}

// Update implements exclusion.Store.
func (m *Store) Update(ctx context.Context, req *exclusion.Request, ev exclusion.AuditEvent) error {
	if req == nil {
		return fmt.Errorf("memstore: nil request")
	}
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return err
	}
	ob, ok := m.reqs[req.ID]
	if !ok {
		return fmt.Errorf("memstore: request %q: %w", req.ID, exclusion.ErrNotFound)
	}
	var old exclusion.Request
	if err := json.Unmarshal(ob, &old); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	if req.Version != old.Version+1 {
		return fmt.Errorf("memstore: request %q at version %d, update to %d: %w", req.ID, old.Version, req.Version, exclusion.ErrConflict)
	}
	m.apply(&old, req, b, ev)
	return nil
}

// Get implements exclusion.Store.
func (m *Store) Get(ctx context.Context, id string) (*exclusion.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	b, ok := m.reqs[id]
	if !ok {
		return nil, fmt.Errorf("memstore: request %q: %w", id, exclusion.ErrNotFound)
	}
	var r exclusion.Request
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	return &r, nil
}

// Requests implements exclusion.Store. It yields a snapshot, sorted by id.
func (m *Store) Requests(ctx context.Context) iter.Seq2[*exclusion.Request, error] {
	return func(yield func(*exclusion.Request, error) bool) {
		m.mu.Lock()
		if err := m.check(ctx); err != nil {
			m.mu.Unlock()
			yield(nil, err)
			return
		}
		ids := make([]string, 0, len(m.reqs))
		bs := make(map[string][]byte, len(m.reqs))
		for id, b := range m.reqs {
			ids = append(ids, id)
			bs[id] = b
		}
		m.mu.Unlock()
		slices.Sort(ids)
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				yield(nil, fmt.Errorf("memstore: %w", err))
				return
			}
			var r exclusion.Request
			if err := json.Unmarshal(bs[id], &r); err != nil {
				yield(nil, fmt.Errorf("memstore: %w", err))
				return
			}
			if !yield(&r, nil) {
				return
			}
		}
	}
}

// Audit implements exclusion.Store.
func (m *Store) Audit(ctx context.Context, requestID string) iter.Seq2[exclusion.AuditEvent, error] {
	return func(yield func(exclusion.AuditEvent, error) bool) {
		m.mu.Lock()
		if err := m.check(ctx); err != nil {
			m.mu.Unlock()
			yield(exclusion.AuditEvent{}, err)
			return
		}
		evs := slices.Clone(m.events)
		m.mu.Unlock()
		slices.SortFunc(evs, func(a, b exclusion.AuditEvent) int { return cmp.Compare(a.Seq, b.Seq) })
		for _, ev := range evs {
			if requestID != "" && ev.RequestID != requestID {
				continue
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// Close implements exclusion.Store. It is idempotent.
func (m *Store) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// Corrupt overwrites the stored record of id with b, bypassing every check,
// so tests can see how a registry handles a damaged store.
func (m *Store) Corrupt(id string, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reqs[id] = b
}
