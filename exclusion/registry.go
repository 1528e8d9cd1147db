package exclusion

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"iter"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/index"
)

// Config configures a Registry.
type Config struct {
	// Quality decides which submitted faces are usable; zero fields mean
	// DefaultQualityGate's, negative ones turn that check off.
	Quality QualityGate
	// MoreEmbedders are further models every face opt-out is enrolled with
	// at submission, besides the embedder given to Create or Open (which
	// finds the faces and measures their quality). Photos are never kept,
	// so enrolling with several models at submission is the only way a
	// registry can later serve Filters of another model.
	MoreEmbedders []embed.Embedder
	// Confirm says whether requests wait for their requester's
	// confirmation (Unconfirmed, see Registry.Confirm) before review; the
	// zero value does not wait.
	Confirm ConfirmConfig
	// Thumbnails says whether and where face thumbnails are kept for the
	// reviewer until the decision; the zero value keeps none.
	Thumbnails ThumbnailConfig
	// Encryption seals descriptors and image hashes in the store under
	// per-request data keys; the zero value stores them in clear.
	Encryption EncryptionConfig
	// Index says which index answers the face searches; the zero value is
	// exact at every size.
	Index IndexConfig
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// DefaultConfig returns the configuration the zero value means, spelled
// out: the default quality gate, the clock time.Now, no confirmation, no
// thumbnails, no encryption, no further embedders.
func DefaultConfig() Config { return Config{Quality: DefaultQualityGate()} }

// Registry holds the requests, runs the review workflow, and keeps the live
// set of what approved requests block: their faces in an exact in-memory
// index, their image hashes and their URLs. Every change is written to the
// Store (durably, with its audit event) before the call returns, and takes
// effect in the live set, and so in every Filter over the registry, at once.
//
// A Registry is safe for concurrent use. Only one Registry may own a store
// at a time (boltstore enforces this with a file lock).
type Registry struct {
	store Store
	embs  []embed.Embedder // the enrolling embedder, then cfg.MoreEmbedders
	cfg   Config
	// models are the models the registry's faces are enrolled with, as
	// recorded in the store; set once by load.
	models []embed.Model

	wmu sync.Mutex // serialises changes, so the live set follows the store's order

	mu     sync.RWMutex // guards closed, broken and the live set below (each Gallery also guards itself)
	closed bool
	broken error // set when the live set may differ from the store; checks fail closed
	// galleries[m] holds the approved faces' descriptors of models[m]; set
	// by setModels.
	galleries []*Gallery
	nfaces    int                 // approved faces, over all galleries' requests
	reqs      map[string]*liveReq // approved requests
	sha       map[string][]string // image SHA-256 (hex) -> approved request ids
	urls      map[string][]string // normalised URL -> approved request ids
	hashes    []liveHash          // perceptual hashes of approved requests' images

	nextFace atomic.Uint64
}

type liveHash struct {
	h   uint64
	req string
}

type liveReq struct {
	id      string
	decided time.Time
	until   time.Time // the request blocks nothing before this time (Suspend)
	nfaces  int       // enrolled faces, in every gallery
	sha     []string
	hashes  []uint64
	urls    []string
}

func newRegistry(store Store, emb embed.Embedder, cfg Config) (*Registry, error) {
	if store == nil {
		return nil, errors.New("exclusion: nil Store")
	}
	var embs []embed.Embedder
	if emb != nil {
		embs = append(embs, emb)
	}
	for _, e := range cfg.MoreEmbedders {
		if e == nil {
			return nil, fmt.Errorf("%w: nil embedder in MoreEmbedders", ErrModel)
		}
		if emb == nil {
			return nil, fmt.Errorf("%w: MoreEmbedders without an enrolling embedder", ErrModel)
		}
		embs = append(embs, e)
	}
	seen := map[string]bool{}
	for _, e := range embs {
		m := e.Model()
		if m.ID == "" || m.Dim <= 0 {
			return nil, fmt.Errorf("%w: embedder %T reports model %+v", ErrModel, e, m)
		}
		if seen[m.ID] {
			return nil, fmt.Errorf("%w: model %s given twice", ErrModel, m)
		}
		seen[m.ID] = true
	}
	if _, err := cfg.Index.indexConfig(1); err != nil {
		return nil, err
	}
	if err := errors.Join(cfg.Confirm.validate(), cfg.Thumbnails.validate()); err != nil {
		return nil, err
	}
	cfg.Quality = cfg.Quality.resolve()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := cfg.Encryption.validate(); err != nil {
		return nil, err
	}
	if cfg.Encryption.Key != nil {
		ss, err := newSealStore(store, cfg.Encryption)
		if err != nil {
			return nil, err
		}
		store = ss
	}
	return &Registry{
		store: store, embs: embs, cfg: cfg,
		reqs: map[string]*liveReq{},
		sha:  map[string][]string{}, urls: map[string][]string{},
	}, nil
}

// Create initialises a fresh registry in an empty store and opens it. It
// fails with ErrExists if the store already holds a registry, so an
// existing registry is never mistaken for a new one. emb enrols submitted
// face photos; it may be nil for a registry that holds only image removals.
// The registry records the models of emb and cfg.MoreEmbedders, and from
// then on opens only with embedders of those models (ErrModel otherwise).
//
// On success the Registry owns store and closes it in Close.
func Create(ctx context.Context, store Store, emb embed.Embedder, cfg Config) (*Registry, error) {
	r, err := newRegistry(store, emb, cfg)
	if err != nil {
		return nil, err
	}
	models := make([]embed.Model, len(r.embs))
	for i, e := range r.embs {
		models[i] = e.Model()
	}
	if err := store.Init(ctx, r.now(), models); err != nil {
		return nil, fmt.Errorf("exclusion: creating registry: %w", err)
	}
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Open opens the registry a store holds: it reads every request, checks each
// record's checksum and the store's counts, and rebuilds the live index of
// approved faces, hashes and URLs. A store that was never initialised gives
// ErrNoRegistry, and an inconsistent one ErrCorrupt: an empty or unreadable
// registry is an error, never an empty filter. emb and cfg.MoreEmbedders
// must be embedders of models the registry records (ErrModel otherwise);
// emb may be nil for a process that only reviews or filters. Submitting a
// face opt-out needs embedders for every recorded model.
//
// On success the Registry owns store and closes it in Close.
func Open(ctx context.Context, store Store, emb embed.Embedder, cfg Config) (*Registry, error) {
	r, err := newRegistry(store, emb, cfg)
	if err != nil {
		return nil, err
	}
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Registry) load(ctx context.Context) error {
	st, err := r.store.Stats(ctx)
	if err != nil {
		return fmt.Errorf("exclusion: opening registry: %w", err)
	}
	if err := r.setModels(st.Models); err != nil {
		return err
	}
	counts := map[Status]int{}
	faces := 0
	for req, err := range r.store.Requests(ctx) {
		if err != nil {
			return fmt.Errorf("exclusion: reading registry: %w", err)
		}
		if err := verify(req); err != nil {
			return err
		}
		counts[req.Status]++
		if req.Status == Approved {
			faces += len(req.EnrolledFaces())
			if err := r.addLive(req); err != nil {
				return fmt.Errorf("%w: request %q: %w", ErrCorrupt, req.ID, err)
			}
		}
	}
	for _, s := range statuses {
		if counts[s] != st.Requests[s] {
			return fmt.Errorf("%w: the store counts %d %s requests, %d were read", ErrCorrupt, st.Requests[s], s, counts[s])
		}
	}
	if faces != st.Faces || faces != r.Len() {
		return fmt.Errorf("%w: the store counts %d approved faces, %d were read, %d indexed", ErrCorrupt, st.Faces, faces, r.Len())
	}
	if ss, ok := r.store.(*sealStore); ok {
		if _, err := ss.sweep(ctx); err != nil {
			return err
		}
	}
	return nil
}

// setModels records the store's models, checks that every embedder the
// registry was given is of one of them, and makes an empty live index per
// model.
func (r *Registry) setModels(models []embed.Model) error {
	seen := map[string]bool{}
	for _, m := range models {
		if m.ID == "" || m.Dim <= 0 || seen[m.ID] {
			return fmt.Errorf("%w: the store records the models %v", ErrCorrupt, models)
		}
		seen[m.ID] = true
	}
	for _, e := range r.embs {
		if m := e.Model(); r.modelIndexIn(models, m) < 0 {
			return fmt.Errorf("%w: the registry's faces are enrolled with %v, not %s", ErrModel, models, m)
		}
	}
	galleries := make([]*Gallery, len(models))
	for i, m := range models {
		g, err := newGallery(m.Dim, r.cfg.Index)
		if err != nil {
			return err
		}
		galleries[i] = g
	}
	r.mu.Lock()
	old := r.galleries
	r.models = slices.Clone(models)
	r.galleries = galleries
	r.mu.Unlock()
	for _, g := range old {
		g.close()
	}
	return nil
}

// IndexStatus reports, for each of Models, which index answers its face
// searches (exact or HNSW, see Config.Index), its size and the progress
// of a background graph build. Safe for concurrent use.
func (r *Registry) IndexStatus() []index.Status {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]index.Status, len(r.galleries))
	for i, g := range r.galleries {
		out[i] = g.IndexStatus()
	}
	return out
}

// gallery returns the live faces of models[model], or nil.
func (r *Registry) gallery(model int) *Gallery {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if model < 0 || model >= len(r.galleries) {
		return nil
	}
	return r.galleries[model]
}

// modelIndexIn returns the index in models of a model equal to m (same ID
// and dimension), or -1.
func (r *Registry) modelIndexIn(models []embed.Model, m embed.Model) int {
	for i, o := range models {
		if o.ID == m.ID && o.Dim == m.Dim {
			return i
		}
	}
	return -1
}

// Models returns the models the registry's faces are enrolled with. Safe
// for concurrent use.
func (r *Registry) Models() []embed.Model { return slices.Clone(r.models) }

// modelIndex returns the index of model m among the registry's models, or
// an error wrapping ErrModel.
func (r *Registry) modelIndex(m embed.Model) (int, error) {
	if i := r.modelIndexIn(r.models, m); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("%w: the registry's faces are enrolled with %v, not %s", ErrModel, r.models, m)
}

// canEnrol reports whether the registry has an embedder for every model it
// records, first the one it finds faces with.
func (r *Registry) canEnrol() error {
	if len(r.embs) == 0 {
		return ErrNoEmbedder
	}
	for _, m := range r.models {
		found := false
		for _, e := range r.embs {
			found = found || e.Model().ID == m.ID
		}
		if !found {
			return fmt.Errorf("%w: enrolling needs an embedder of every model the registry records; %s is missing", ErrModel, m)
		}
	}
	return nil
}

// checksum returns the hex SHA-256 of req's JSON encoding without its
// checksum.
func checksum(req *Request) string {
	c := *req
	c.Checksum = ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "unencodable: " + err.Error()
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// verify checks a record read from the store.
func verify(req *Request) error {
	if req == nil {
		return fmt.Errorf("%w: nil request", ErrCorrupt)
	}
	if req.Sealed != nil {
		return fmt.Errorf("%w: request %q is sealed; open the registry with its key and keyring (Config.Encryption)", ErrKey, req.ID)
	}
	if got := checksum(req); got != req.Checksum {
		return fmt.Errorf("%w: request %q fails its checksum", ErrCorrupt, req.ID)
	}
	if !req.Status.valid() || (req.Kind != FaceOptOut && req.Kind != ImageRemoval) {
		return fmt.Errorf("%w: request %q has kind %q, status %q", ErrCorrupt, req.ID, req.Kind, req.Status)
	}
	return nil
}

func (r *Registry) now() time.Time { return r.cfg.Now().UTC().Truncate(time.Microsecond) }

// usable returns why the registry cannot be used, or nil.
func (r *Registry) usable() error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	return r.broken
}

func checkActor(actor string) error {
	if p := checkText(actor, MaxNameLen, false); p != "" {
		return &ValidationError{Problems: []FieldError{{Field: "actor", Problem: p}}}
	}
	return nil
}

// Submit validates a submission, enrols its photos (decoding, hashing and,
// for face opt-outs, finding and describing the faces through the quality
// gate), and stores it as a pending request with its audit event. It returns
// the stored request once it is durable.
//
// A bad submission gives a *ValidationError (errors.Is(err,
// ErrInvalidRequest)) naming every bad field, and nothing is stored: a photo
// that cannot be decoded, a picked box that overlaps no face, or a face
// opt-out in which no photo has a usable face. A photo with several usable
// faces and no pick is stored with Problem RefusalSeveralFaces and its
// candidate faces, for a reviewer to Pick. Embedder and store failures are
// returned as they are. Safe for concurrent use.
func (r *Registry) Submit(ctx context.Context, sub *Submission, actor string) (*Request, error) {
	if err := r.usable(); err != nil {
		return nil, err
	}
	req, err := normalize(sub)
	if err != nil {
		return nil, err
	}
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if sub.Kind == FaceOptOut {
		if err := r.canEnrol(); err != nil {
			return nil, err
		}
	}
	ve := &ValidationError{}
	candidates := 0
	for i, p := range sub.Photos {
		rec, problem, err := r.enrolPhoto(ctx, sub.Kind, p)
		if err != nil {
			return nil, err
		}
		if problem != "" {
			f := fmt.Sprintf("photos[%d]", i)
			if p.Face != nil && rec.Width > 0 {
				f += ".face"
			}
			ve.add(f, problem)
		}
		if rec.Problem == "" || rec.Problem == RefusalSeveralFaces {
			candidates++
		}
		req.Photos = append(req.Photos, rec)
	}
	if sub.Kind == FaceOptOut && candidates == 0 && len(ve.Problems) == 0 {
		for i := range req.Photos {
			ve.add(fmt.Sprintf("photos[%d]", i), describe(&req.Photos[i]))
		}
	}
	if err := ve.err(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("exclusion: submit: %w", err)
	}
	now := r.now()
	req.ID = rand.Text()
	req.Version = 1
	req.Created, req.Updated = now, now
	sealed, err := r.beforeInsert(sub, req) // Unconfirmed, thumbnails
	if err != nil {
		return nil, err
	}
	req.Checksum = checksum(req)
	ev := AuditEvent{Time: now, Actor: actor, RequestID: req.ID, Action: ActionSubmit, To: req.Status}

	r.wmu.Lock()
	defer r.wmu.Unlock()
	if err := r.usable(); err != nil {
		return nil, err
	}
	if err := r.store.Insert(ctx, req, ev); err != nil {
		return nil, fmt.Errorf("exclusion: storing request: %w", err)
	}
	r.putThumbnails(ctx, req, sealed)
	return req, nil
}

// Pick enrols, in a pending face opt-out, the face of photo (0-based) whose
// box best overlaps box, in place of any face picked before in that photo.
// It is how a reviewer resolves RefusalSeveralFaces. Safe for concurrent use.
func (r *Registry) Pick(ctx context.Context, id string, photo int, box image.Rectangle, actor string) (*Request, error) {
	note := fmt.Sprintf("photo %d: face at %v", photo, box)
	return r.change(ctx, id, actor, note, ActionPick, "", func(req *Request) error {
		if req.Status != Pending {
			return fmt.Errorf("%w: pick in a %s request", ErrTransition, req.Status)
		}
		if req.Kind != FaceOptOut {
			return fmt.Errorf("%w: pick in a %s request", ErrTransition, req.Kind)
		}
		if photo < 0 || photo >= len(req.Photos) {
			return &ValidationError{Problems: []FieldError{{Field: "photo", Problem: fmt.Sprintf("%d: the request has %d photos", photo, len(req.Photos))}}}
		}
		rec := &req.Photos[photo]
		i := bestOverlap(rec.Faces, box, true)
		if i < 0 {
			return &ValidationError{Problems: []FieldError{{Field: "box", Problem: fmt.Sprintf("%v overlaps none of the candidate faces: %s", box, boxes(rec.Faces))}}}
		}
		if rf := rec.Faces[i].Refusal; rf != "" && rf != RefusalNotPicked {
			return &ValidationError{Problems: []FieldError{{Field: "box", Problem: fmt.Sprintf("the face at %v is refused: %s", rec.Faces[i].Box, rf)}}}
		}
		pick(rec, i)
		return nil
	})
}

// Approve approves a pending request: from now on its enrolled faces, image
// hashes and URLs block, in every Filter over this registry, without a
// rebuild. Candidate faces that were not picked are deleted. A face opt-out
// without an enrolled face gives ErrNothingToBlock. Safe for concurrent use.
func (r *Registry) Approve(ctx context.Context, id, actor, note string) (*Request, error) {
	return r.change(ctx, id, actor, note, ActionApprove, Approved, func(req *Request) error {
		if req.Kind == FaceOptOut && len(req.EnrolledFaces()) == 0 {
			return fmt.Errorf("%w: request %s has no enrolled face; pick one first", ErrNothingToBlock, req.ID)
		}
		if req.Kind == ImageRemoval && len(req.URLs) == 0 && len(req.Photos) == 0 {
			return fmt.Errorf("%w: request %s names no image", ErrNothingToBlock, req.ID)
		}
		forget(req, false)
		return nil
	})
}

// Reject rejects a pending request and deletes its descriptors. Safe for
// concurrent use.
func (r *Registry) Reject(ctx context.Context, id, actor, note string) (*Request, error) {
	return r.change(ctx, id, actor, note, ActionReject, Rejected, func(req *Request) error {
		forget(req, true)
		return nil
	})
}

// Withdraw withdraws a pending or approved request (the person changed their
// mind): it stops blocking at once, and its descriptors are deleted, not
// flagged. Safe for concurrent use.
func (r *Registry) Withdraw(ctx context.Context, id, actor, note string) (*Request, error) {
	return r.change(ctx, id, actor, note, ActionWithdraw, Withdrawn, func(req *Request) error {
		forget(req, true)
		return nil
	})
}

// forget deletes the descriptors of faces that are not enrolled, or of all
// faces and the image hashes.
func forget(req *Request, all bool) {
	for i := range req.Photos {
		if all {
			req.Photos[i].SHA256, req.Photos[i].PHash = "", 0
		}
		for j := range req.Photos[i].Faces {
			f := &req.Photos[i].Faces[j]
			if all || !f.Enrolled {
				f.Descriptors = nil
			}
			if all {
				f.Enrolled = false
			}
		}
	}
}

// change applies one workflow step: read, check the transition, mutate,
// store (durably, with the audit event), then update the live set. An
// empty to keeps the status (mutate then checks that the step applies to
// it).
func (r *Registry) change(ctx context.Context, id, actor, note string, action Action, to Status, mutate func(*Request) error) (*Request, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if p := checkText(note, MaxReasonLen, true); p != "" && note != "" {
		return nil, &ValidationError{Problems: []FieldError{{Field: "note", Problem: p}}}
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if err := r.usable(); err != nil {
		return nil, err
	}
	cur, err := r.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("exclusion: %s %q: %w", action, id, err)
	}
	if err := verify(cur); err != nil {
		return nil, err
	}
	from := cur.Status
	if to == "" {
		to = from
	} else if !from.next(to) {
		return nil, fmt.Errorf("%w: %s -> %s", ErrTransition, from, to)
	}
	next, err := r.store.Get(ctx, id) // a private copy to change
	if err != nil {
		return nil, fmt.Errorf("exclusion: %s %q: %w", action, id, err)
	}
	if err := mutate(next); err != nil {
		return nil, err
	}
	now := r.now()
	next.Status = to
	next.Version = cur.Version + 1
	next.Updated = now
	if to != from && (to == Approved || to == Rejected) {
		next.Decided = now
	}
	next.Checksum = checksum(next)
	ev := AuditEvent{Time: now, Actor: actor, RequestID: id, Action: action, From: from, To: to, Note: note}
	if err := r.store.Update(ctx, next, ev); err != nil {
		return nil, fmt.Errorf("exclusion: %s %q: %w", action, id, err)
	}
	switch {
	case to == Approved:
		// Newly approved, or an approved request changed (a suspension).
		if err := r.addLive(next); err != nil {
			// Stored but not live: fail every check closed until reopened.
			r.mu.Lock()
			r.broken = fmt.Errorf("exclusion: approved request %q is not live, reopen the registry: %w", id, err)
			r.mu.Unlock()
			return nil, err
		}
	case from == Approved && to != Approved:
		r.removeLive(id)
	}
	return r.afterDecision(ctx, next, actor), nil
}

// addLive makes an approved request block, in place of its previous live
// state if any (a suspension changed).
func (r *Registry) addLive(req *Request) error {
	lr, faces, err := r.liveOf(req)
	if err != nil {
		return err
	}
	return r.install(lr, faces)
}

// liveOf returns what an approved request blocks: its live record and its
// enrolled faces in each gallery (faces[m] for galleries[m]), with fresh
// face ids.
func (r *Registry) liveOf(req *Request) (*liveReq, [][]EnrolledFace, error) {
	lr := &liveReq{id: req.ID, decided: req.Decided, until: req.SuspendedUntil, urls: slices.Clone(req.URLs)}
	faces := make([][]EnrolledFace, len(r.models)) // faces[m]: the request's faces in galleries[m]
	for _, p := range req.Photos {
		lr.sha = append(lr.sha, p.SHA256)
		if req.Kind == ImageRemoval {
			// Perceptual hashes of face photos would match other people's
			// look-alike headshots; the faces themselves block those copies.
			lr.hashes = append(lr.hashes, p.PHash)
		}
		for _, f := range p.Faces {
			if !f.Enrolled {
				continue
			}
			if len(f.Descriptors) != len(r.models) {
				return nil, nil, fmt.Errorf("an enrolled face has %d descriptors, the registry has %d models", len(f.Descriptors), len(r.models))
			}
			id := r.nextFace.Add(1)
			for m, model := range r.models {
				d, ok := f.Descriptors[model.ID]
				if !ok || len(d) != model.Dim || !d.Finite() {
					return nil, nil, fmt.Errorf("an enrolled face lacks a valid descriptor of model %s", model)
				}
				faces[m] = append(faces[m], EnrolledFace{
					ID: id, RequestID: req.ID, Descriptor: d, Quality: f.Quality,
					Threshold: req.Threshold, SuspendedUntil: suspendedUntil(req, &f),
				})
			}
			lr.nfaces++
		}
	}
	return lr, faces, nil
}

// install makes lr and its faces (faces[m] for galleries[m], lr.nfaces in
// each) live, in place of the request's previous live state if any. The
// galleries copy the faces: install keeps no reference to faces itself.
func (r *Registry) install(lr *liveReq, faces [][]EnrolledFace) error {
	if len(faces) != len(r.models) {
		return fmt.Errorf("faces of %d models, the registry has %d", len(faces), len(r.models))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.reqs[lr.id]; ok {
		r.removeLiveLocked(old)
	}
	for m, g := range r.galleries {
		if err := g.replace(lr.id, faces[m]); err != nil {
			for _, g := range r.galleries {
				g.remove(lr.id)
			}
			return err
		}
	}
	r.addKeysLocked(lr)
	return nil
}

// addKeysLocked enters lr in the live set's request map, face count and
// image-level lookups (SHA-256, URL, perceptual hash). r.mu must be held
// for writing.
func (r *Registry) addKeysLocked(lr *liveReq) {
	r.reqs[lr.id] = lr
	r.nfaces += lr.nfaces
	for _, h := range lr.sha {
		r.sha[h] = append(r.sha[h], lr.id)
	}
	for _, u := range lr.urls {
		r.urls[u] = append(r.urls[u], lr.id)
	}
	for _, h := range lr.hashes {
		r.hashes = append(r.hashes, liveHash{h: h, req: lr.id})
	}
}

// resetLive empties the live set (fresh galleries of the same models), for
// a replica that gives up on a snapshot half loaded.
func (r *Registry) resetLive() error {
	if err := r.setModels(r.models); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = map[string]*liveReq{}
	r.sha, r.urls = map[string][]string{}, map[string][]string{}
	r.hashes = nil
	r.nfaces = 0
	return nil
}

// removeLive stops an approved request from blocking.
func (r *Registry) removeLive(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if lr, ok := r.reqs[id]; ok {
		r.removeLiveLocked(lr)
	}
}

func (r *Registry) removeLiveLocked(lr *liveReq) {
	for _, g := range r.galleries {
		g.remove(lr.id)
	}
	drop := func(m map[string][]string, keys []string) {
		for _, k := range keys {
			m[k] = slices.DeleteFunc(m[k], func(s string) bool { return s == lr.id })
			if len(m[k]) == 0 {
				delete(m, k)
			}
		}
	}
	drop(r.sha, lr.sha)
	drop(r.urls, lr.urls)
	r.hashes = slices.DeleteFunc(r.hashes, func(h liveHash) bool { return h.req == lr.id })
	delete(r.reqs, lr.id)
	r.nfaces -= lr.nfaces
}

// Get returns the request with the given id (ErrNotFound if none), after
// checking its checksum. Safe for concurrent use.
func (r *Registry) Get(ctx context.Context, id string) (*Request, error) {
	if err := r.usable(); err != nil {
		return nil, err
	}
	req, err := r.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("exclusion: get %q: %w", id, err)
	}
	if err := verify(req); err != nil {
		return nil, err
	}
	return req, nil
}

// Requests yields every request, checked, in no particular order. Safe for
// concurrent use.
func (r *Registry) Requests(ctx context.Context) iter.Seq2[*Request, error] {
	return func(yield func(*Request, error) bool) {
		if err := r.usable(); err != nil {
			yield(nil, err)
			return
		}
		for req, err := range r.store.Requests(ctx) {
			if err == nil {
				err = verify(req)
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(req, nil) {
				return
			}
		}
	}
}

// Audit yields the audit log in order: all events, or one request's when id
// is not empty. Safe for concurrent use.
func (r *Registry) Audit(ctx context.Context, id string) iter.Seq2[AuditEvent, error] {
	return func(yield func(AuditEvent, error) bool) {
		if err := r.usable(); err != nil {
			yield(AuditEvent{}, err)
			return
		}
		for ev, err := range r.store.Audit(ctx, id) {
			if !yield(ev, err) || err != nil {
				return
			}
		}
	}
}

// Stats returns the store's counts. Safe for concurrent use.
func (r *Registry) Stats(ctx context.Context) (Stats, error) {
	if err := r.usable(); err != nil {
		return Stats{}, err
	}
	return r.store.Stats(ctx)
}

// Len returns the number of faces that block: the enrolled faces of approved
// requests. Safe for concurrent use.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.nfaces
}

// Close closes the registry and its store. Checks in flight or made later
// answer Unchecked. Close is idempotent and safe for concurrent use; it waits
// for a change in flight to finish.
func (r *Registry) Close() error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	gs := r.galleries
	r.mu.Unlock()
	for _, g := range gs {
		g.close()
	}
	return r.store.Close()
}
