package main

import (
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

// memStore is an in-memory exclusion.Store for bench filter's large
// registries: the registry goes through Submit and Approve as over a
// boltstore, and the store keeps what they write (JSON copies of the
// requests, the chained audit log, the counts), without the one fsync per
// write that makes a million enrolled faces take hours. It is not durable:
// for benchmarks only (programs cannot link exclusiontest's MemStore, a test
// helper).
type memStore struct {
	mu      sync.Mutex // guards every field below
	closed  bool
	init    bool
	created time.Time
	models  []embed.Model
	reqs    map[string][]byte // id -> JSON of *exclusion.Request
	events  []exclusion.AuditEvent
	counts  map[exclusion.Status]int
	faces   int
}

var _ exclusion.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{reqs: map[string][]byte{}, counts: map[exclusion.Status]int{}}
}

// usable returns why the store cannot be used, or nil. m.mu must be held.
func (m *memStore) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.closed {
		return exclusion.ErrClosed
	}
	if !m.init {
		return exclusion.ErrNoRegistry
	}
	return nil
}

func (m *memStore) Init(ctx context.Context, created time.Time, models []embed.Model) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case m.closed:
		return exclusion.ErrClosed
	case m.init:
		return exclusion.ErrExists
	}
	m.init, m.created, m.models = true, created, slices.Clone(models)
	return nil
}

func (m *memStore) Stats(ctx context.Context) (exclusion.Stats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usable(ctx); err != nil {
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

// apply stores new (encoded as b) in place of old and appends ev to the
// chained log. m.mu must be held.
func (m *memStore) apply(old, new *exclusion.Request, b []byte, ev exclusion.AuditEvent) {
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

func (m *memStore) Insert(ctx context.Context, req *exclusion.Request, ev exclusion.AuditEvent) error {
	if req == nil || req.ID == "" || req.Version != 1 {
		return fmt.Errorf("bench memstore: insert needs a request with an id and version 1")
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usable(ctx); err != nil {
		return err
	}
	if _, ok := m.reqs[req.ID]; ok {
		return fmt.Errorf("bench memstore: request %q: %w", req.ID, exclusion.ErrExists)
	}
	m.apply(nil, req, b, ev)
	return nil
}

func (m *memStore) Update(ctx context.Context, req *exclusion.Request, ev exclusion.AuditEvent) error {
	if req == nil {
		return fmt.Errorf("bench memstore: nil request")
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usable(ctx); err != nil {
		return err
	}
	ob, ok := m.reqs[req.ID]
	if !ok {
		return fmt.Errorf("bench memstore: request %q: %w", req.ID, exclusion.ErrNotFound)
	}
	var old exclusion.Request
	if err := json.Unmarshal(ob, &old); err != nil {
		return err
	}
	if req.Version != old.Version+1 {
		return fmt.Errorf("bench memstore: request %q at version %d, update to %d: %w", req.ID, old.Version, req.Version, exclusion.ErrConflict)
	}
	m.apply(&old, req, b, ev)
	return nil
}

func (m *memStore) Get(ctx context.Context, id string) (*exclusion.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usable(ctx); err != nil {
		return nil, err
	}
	b, ok := m.reqs[id]
	if !ok {
		return nil, fmt.Errorf("bench memstore: request %q: %w", id, exclusion.ErrNotFound)
	}
	var r exclusion.Request
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (m *memStore) Requests(ctx context.Context) iter.Seq2[*exclusion.Request, error] {
	return func(yield func(*exclusion.Request, error) bool) {
		m.mu.Lock()
		if err := m.usable(ctx); err != nil {
			m.mu.Unlock()
			yield(nil, err)
			return
		}
		bs := make([][]byte, 0, len(m.reqs))
		for _, b := range m.reqs {
			bs = append(bs, b)
		}
		m.mu.Unlock()
		for _, b := range bs {
			var r exclusion.Request
			if err := json.Unmarshal(b, &r); err != nil {
				yield(nil, err)
				return
			}
			if !yield(&r, nil) {
				return
			}
		}
	}
}

func (m *memStore) Audit(ctx context.Context, requestID string) iter.Seq2[exclusion.AuditEvent, error] {
	return func(yield func(exclusion.AuditEvent, error) bool) {
		m.mu.Lock()
		if err := m.usable(ctx); err != nil {
			m.mu.Unlock()
			yield(exclusion.AuditEvent{}, err)
			return
		}
		evs := slices.Clone(m.events) // in Seq order: apply appends
		m.mu.Unlock()
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

// Close is idempotent.
func (m *memStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
