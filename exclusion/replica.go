package exclusion

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faceoptout/faceoptout/embed"
)

// ErrStale is matched by the error of a check on a Replica past its
// staleness bound (a *StaleError).
var ErrStale = errors.New("exclusion: replica too stale")

// FeedStore is a Store with a change feed (exclusion/pgstore is one).
type FeedStore interface {
	Store
	Feed
}

// ReplicaConfig configures a Replica.
type ReplicaConfig struct {
	// Registry configures the replica's Registry (Now also drives the
	// staleness clock).
	Registry Config
	// PollInterval bounds the wait between two reads of the feed when no
	// wake-up arrives (a lost notification, a lost connection); 0 means
	// one second.
	PollInterval time.Duration
	// MaxStaleness, when positive, turns the replica's answers into
	// Unchecked (Decision.Err wrapping ErrStale) once it has not been able
	// to confirm it is up to date for longer than this; 0 means no bound:
	// a replica that cannot reach its store keeps serving its last state
	// and only reports its staleness.
	MaxStaleness time.Duration
	// Batch is how many changes one feed read asks for; 0 means 512.
	Batch int
	// Logger receives the replica's structured logs; nil means none.
	Logger *slog.Logger
	// Snapshot, when not empty, is a file where the replica keeps its live
	// set (the approved faces' descriptors, one contiguous array per model,
	// and what decisions need of their requests) with the feed sequence
	// number it includes: it starts from the file and replays the feed
	// after it instead of reading every request from the store, and
	// rewrites it every SnapshotEvery (when something changed) and at
	// Close. A damaged file (any bit, checked by SHA-256; a truncation;
	// another format version), or one of another registry (creation time
	// and models), is detected and ignored: the replica then loads the
	// store. Not allowed with Registry.Encryption: the file would hold
	// descriptors in clear.
	Snapshot string
	// SnapshotEvery is how often a changed state is written to Snapshot;
	// 0 means one minute.
	SnapshotEvery time.Duration
}

// DefaultReplicaConfig returns the defaults: the registry defaults, a one
// second poll interval and a five minute staleness bound.
func DefaultReplicaConfig() ReplicaConfig {
	return ReplicaConfig{Registry: DefaultConfig(), PollInterval: time.Second, MaxStaleness: 5 * time.Minute, Batch: 512}
}

// ReplicaStatus is what a Replica reports about itself.
type ReplicaStatus struct {
	// Applied is the sequence number of the last feed change applied.
	Applied uint64 `json:"applied"`
	// Head is the newest sequence number the replica has seen in the feed.
	Head uint64 `json:"head"`
	// Synced is when the replica last confirmed it had applied every change
	// (the start of that feed read).
	Synced time.Time `json:"synced"`
	// Staleness is how long ago that was.
	Staleness time.Duration `json:"staleness_ns"`
	// Stale reports that Staleness exceeded MaxStaleness and checks answer
	// Unchecked (until the replica is up to date again).
	Stale bool `json:"stale"`
	// Faces is the number of faces that block.
	Faces int `json:"faces"`
	// Err is the last error reading or applying the feed, "" once a read
	// succeeds again.
	Err string `json:"error,omitempty"`
	// Loaded says where the replica's state came from at start: "store"
	// or "snapshot".
	Loaded string `json:"loaded"`
	// SnapshotSeq is the sequence number the last snapshot written or
	// loaded includes (0: none).
	SnapshotSeq uint64 `json:"snapshot_seq,omitempty"`
}

// Lag returns how many changes the replica has seen but not applied.
func (s ReplicaStatus) Lag() uint64 {
	if s.Head > s.Applied {
		return s.Head - s.Applied
	}
	return 0
}

// StaleError is the error of a check on a replica past its staleness
// bound. It matches ErrStale.
type StaleError struct {
	Staleness, Bound time.Duration
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("%v: not confirmed up to date for %v (bound %v)", ErrStale, e.Staleness.Round(time.Millisecond), e.Bound)
}

// Is reports target == ErrStale.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

// Replica keeps a read-only Registry that follows a shared store's change
// feed: what blocks changes in the replica's Filters within a moment of
// the change being committed by any process. Build Filters on Registry().
//
// A Replica is safe for concurrent use.
type Replica struct {
	reg   *Registry
	store FeedStore
	cfg   ReplicaConfig
	log   *slog.Logger

	applied atomic.Uint64
	head    atomic.Uint64
	synced  atomic.Int64 // UnixNano of Synced

	mu      sync.Mutex // guards lastErr, stale, timer, snapSeq and snapOK
	lastErr error
	stale   *StaleError // set in reg.broken while the bound is exceeded
	timer   *time.Timer
	snapSeq uint64
	snapOK  bool // a snapshot of snapSeq was loaded or written

	// Owned by whoever applies changes (NewReplica, then the run
	// goroutine, then Close once it has stopped): where the state came
	// from, the registry's identity and when a snapshot was last written.
	loaded   string
	identity Stats
	lastSnap time.Time

	stop context.CancelFunc
	done chan struct{}
	once sync.Once
}

// NewReplica loads the registry that st holds, from the current head of its
// feed (every approved request, checked against its checksum), and follows
// the feed from there until Close. emb is the embedder the replica's
// Filters use; its model must be one the registry records (ErrModel).
//
// On success the Replica owns st and closes it in Close.
func NewReplica(ctx context.Context, st FeedStore, emb embed.Embedder, cfg ReplicaConfig) (*Replica, error) {
	if st == nil {
		return nil, errors.New("exclusion: nil FeedStore")
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Batch == 0 {
		cfg.Batch = 512
	}
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = time.Minute
	}
	if cfg.PollInterval < 0 || cfg.MaxStaleness < 0 || cfg.Batch < 0 || cfg.SnapshotEvery < 0 {
		return nil, fmt.Errorf("exclusion: invalid replica config (poll %v, max staleness %v, batch %d, snapshot every %v)",
			cfg.PollInterval, cfg.MaxStaleness, cfg.Batch, cfg.SnapshotEvery)
	}
	if cfg.Snapshot != "" && cfg.Registry.Encryption.Key != nil {
		return nil, errors.New("exclusion: replica snapshots would hold sealed descriptors in clear: no Snapshot with Encryption")
	}
	reg, err := newRegistry(st, emb, cfg.Registry)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Replica{reg: reg, store: st, cfg: cfg, log: log, done: make(chan struct{}), loaded: "store"}
	start := reg.cfg.Now()
	if err := p.load(ctx); err != nil {
		return nil, err
	}
	if err := p.catchUp(ctx); err != nil {
		return nil, err
	}
	p.log.Info("replica loaded", "from", p.loaded, "faces", reg.Len(), "seq", p.applied.Load(), "took", reg.cfg.Now().Sub(start))
	lctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	go p.run(lctx)
	return p, nil
}

// load reads the feed's head, then every approved request. A request that
// changes while it is read has a feed entry after that head, which
// catchUp applies from the request's state then.
func (p *Replica) load(ctx context.Context) error {
	head, err := p.store.Head(ctx)
	if err != nil {
		return fmt.Errorf("exclusion: replica: %w", err)
	}
	st, err := p.reg.store.Stats(ctx) // the registry's view: decrypting when sealed
	if err != nil {
		return fmt.Errorf("exclusion: replica: %w", err)
	}
	if err := p.reg.setModels(st.Models); err != nil {
		return err
	}
	p.identity = Stats{Created: st.Created, Models: st.Models}
	if p.cfg.Snapshot != "" {
		switch s, err := readSnapshot(p.cfg.Snapshot); {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			p.log.Warn("replica: ignoring the snapshot", "error", err)
		case !s.sameRegistry(st):
			p.log.Warn("replica: ignoring the snapshot of another registry", "file", p.cfg.Snapshot)
		case s.Seq > head:
			p.log.Warn("replica: ignoring a snapshot ahead of the feed", "snapshot_seq", s.Seq, "head", head)
		default:
			err := p.loadSnapshot(s)
			if err == nil {
				p.head.Store(head)
				return nil
			}
			p.log.Warn("replica: ignoring the snapshot", "error", err)
			if err := p.reg.resetLive(); err != nil {
				return err
			}
			p.loaded = "store"
			p.mu.Lock()
			p.snapSeq, p.snapOK = 0, false
			p.mu.Unlock()
		}
	}
	for req, err := range p.reg.store.Requests(ctx) {
		if err != nil {
			return fmt.Errorf("exclusion: replica: reading registry: %w", err)
		}
		if err := verify(req); err != nil {
			return err
		}
		if req.Status == Approved {
			if err := p.reg.addLive(req); err != nil {
				return fmt.Errorf("%w: request %q: %w", ErrCorrupt, req.ID, err)
			}
		}
	}
	p.applied.Store(head)
	p.head.Store(head)
	return nil
}

// catchUp applies every change after the last one applied. When a read
// returns fewer changes than asked for, the replica was up to date when
// that read started, which it records.
func (p *Replica) catchUp(ctx context.Context) error {
	for {
		t0 := p.reg.cfg.Now()
		cs, err := p.store.Changes(ctx, p.applied.Load(), p.cfg.Batch)
		if err != nil {
			return p.fail(fmt.Errorf("exclusion: replica: reading the feed: %w", err))
		}
		for _, c := range cs {
			if err := p.apply(ctx, c); err != nil {
				return p.fail(err)
			}
			p.applied.Store(c.Seq)
			if c.Seq > p.head.Load() {
				p.head.Store(c.Seq)
			}
		}
		if len(cs) < p.cfg.Batch {
			p.synced.Store(t0.UnixNano())
			p.recover()
			return nil
		}
	}
}

// apply makes the live set follow the request's current state.
func (p *Replica) apply(ctx context.Context, c Change) error {
	req, err := p.reg.store.Get(ctx, c.RequestID)
	approved := false
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return fmt.Errorf("exclusion: replica: change %d: %w", c.Seq, err)
	default:
		if err := verify(req); err != nil {
			return fmt.Errorf("exclusion: replica: change %d: %w", c.Seq, err)
		}
		approved = req.Status == Approved
	}
	r := p.reg
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.mu.RLock()
	_, live := r.reqs[c.RequestID]
	r.mu.RUnlock()
	switch {
	case approved:
		// Newly approved, or changed while approved (a suspension).
		if err := r.addLive(req); err != nil {
			return fmt.Errorf("%w: change %d: request %q: %w", ErrCorrupt, c.Seq, c.RequestID, err)
		}
		p.log.Debug("replica: blocking", "request", c.RequestID, "seq", c.Seq)
	case !approved && live:
		r.removeLive(c.RequestID)
		p.log.Debug("replica: unblocking", "request", c.RequestID, "seq", c.Seq)
	}
	return nil
}

// fail records err (logging it when the replica was healthy) and returns it.
func (p *Replica) fail(err error) error {
	p.mu.Lock()
	first := p.lastErr == nil
	p.lastErr = err
	p.mu.Unlock()
	if first {
		p.log.Warn("replica: cannot follow the feed; serving the last state", "error", err, "seq", p.applied.Load())
	}
	return err
}

// recover clears the last error and the staleness verdict, and re-arms
// the staleness timer from the new Synced.
func (p *Replica) recover() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastErr != nil {
		p.log.Info("replica: following the feed again", "seq", p.applied.Load(), "staleness", p.staleness())
		p.lastErr = nil
	}
	if p.stale != nil {
		p.reg.mu.Lock()
		if p.reg.broken == error(p.stale) {
			p.reg.broken = nil
		}
		p.reg.mu.Unlock()
		p.stale = nil
	}
	if p.cfg.MaxStaleness > 0 {
		wait := p.cfg.MaxStaleness - p.staleness()
		if p.timer == nil {
			p.timer = time.AfterFunc(wait, p.checkStale)
		} else {
			p.timer.Reset(wait)
		}
	}
}

// checkStale turns checks into Unchecked once the bound is exceeded.
func (p *Replica) checkStale() {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.staleness()
	if s < p.cfg.MaxStaleness {
		if p.timer != nil {
			p.timer.Reset(p.cfg.MaxStaleness - s)
		}
		return
	}
	if p.stale != nil {
		return
	}
	p.stale = &StaleError{Staleness: s, Bound: p.cfg.MaxStaleness}
	p.reg.mu.Lock()
	if p.reg.broken == nil {
		p.reg.broken = p.stale
	}
	p.reg.mu.Unlock()
	p.log.Error("replica: past its staleness bound; checks answer unchecked", "staleness", s, "bound", p.cfg.MaxStaleness)
}

func (p *Replica) staleness() time.Duration {
	return p.reg.cfg.Now().Sub(time.Unix(0, p.synced.Load()))
}

func (p *Replica) run(ctx context.Context) {
	defer close(p.done)
	wake := p.store.Wake()
	t := time.NewTicker(p.cfg.PollInterval)
	defer t.Stop()
	p.saveSnapshot() // the state loaded, while the replica already serves
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
		if h, err := p.store.Head(ctx); err == nil && h > p.head.Load() {
			p.head.Store(h)
		}
		_ = p.catchUp(ctx) // recorded in Status; retried at the next wake-up or tick
		if p.reg.cfg.Now().Sub(p.lastSnap) >= p.cfg.SnapshotEvery {
			p.saveSnapshot()
		}
	}
}

// Registry returns the replica's Registry, for Filters. Make changes
// through a Registry opened on the store (exclusion.Open), not this one.
func (p *Replica) Registry() *Registry { return p.reg }

// Status reports the replica's progress and health. Safe for concurrent
// use.
func (p *Replica) Status() ReplicaStatus {
	s := ReplicaStatus{
		Applied: p.applied.Load(), Head: p.head.Load(), Synced: time.Unix(0, p.synced.Load()).UTC(),
		Staleness: p.staleness(), Faces: p.reg.Len(), Loaded: p.loaded,
	}
	p.mu.Lock()
	s.SnapshotSeq = p.snapSeq
	if p.lastErr != nil {
		s.Err = p.lastErr.Error()
	}
	s.Stale = p.stale != nil
	p.mu.Unlock()
	return s
}

// Close stops following the feed and closes the registry and its store.
// It is idempotent and safe for concurrent use.
func (p *Replica) Close() error {
	var err error
	p.once.Do(func() {
		p.stop()
		<-p.done
		p.saveSnapshot()
		p.mu.Lock()
		if p.timer != nil {
			p.timer.Stop()
		}
		p.mu.Unlock()
		err = p.reg.Close()
	})
	return err
}

// loadSnapshot makes the snapshot's live set live, with fresh face ids.
// On error the registry's live set may be partly filled: the caller resets
// it.
func (p *Replica) loadSnapshot(s *snapshot) error {
	if err := p.reg.installSnapshot(s); err != nil {
		return err
	}
	p.applied.Store(s.Seq)
	p.loaded = "snapshot"
	p.mu.Lock()
	p.snapSeq, p.snapOK = s.Seq, true
	p.mu.Unlock()
	return nil
}

// saveSnapshot writes the live set and the sequence it includes, if
// snapshots are on and something changed since the last one. Changes wait
// while the live set is copied (its descriptors included), not while the
// file is written; checks go on. A failure is logged: the replica goes on serving, and the next start
// reads the store (or an older snapshot and more of the feed).
func (p *Replica) saveSnapshot() {
	if p.cfg.Snapshot == "" {
		return
	}
	p.lastSnap = p.reg.cfg.Now()
	seq := p.applied.Load()
	p.mu.Lock()
	same := p.snapOK && seq == p.snapSeq
	p.mu.Unlock()
	if same {
		return
	}
	s := &snapshot{Seq: seq, Created: p.identity.Created, Models: p.identity.Models}
	t0 := time.Now()
	ids, data := p.reg.rowBuffers()
	tp := time.Now()
	p.reg.wmu.Lock()
	live := p.reg.copyLive(ids, data)
	p.reg.wmu.Unlock()
	paused := time.Since(tp)
	var err error
	s.reqs, s.faces, s.data, err = live.order()
	if err == nil {
		err = writeSnapshot(p.cfg.Snapshot, s)
	}
	if err != nil {
		p.log.Warn("replica: cannot write the snapshot", "error", err)
		return
	}
	p.mu.Lock()
	p.snapSeq, p.snapOK = seq, true
	p.mu.Unlock()
	p.log.Info("replica: snapshot written", "seq", seq, "requests", len(s.reqs), "took", time.Since(t0), "changes_paused", paused)
}
