package exclusion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"slices"
	"time"

	"github.com/faceoptout/faceoptout/embed"
)

// defaultTimeout bounds each check of a Filter whose FilterConfig.Timeout
// is zero (DefaultFilterConfig spells it out).
const defaultTimeout = 30 * time.Second

// FilterConfig configures a Filter. Zero fields mean the defaults
// (DefaultFilterConfig spells them out).
type FilterConfig struct {
	// Policy turns nearby enrolled faces into a verdict; nil means
	// DefaultPolicyFor the embedder's model (its calibrated threshold).
	Policy Policy
	// Timeout bounds each check (on top of the caller's context); 0 means
	// 30 s. A check that runs out of time answers Unchecked.
	Timeout time.Duration
	// NoTimeout leaves each check bounded by the caller's context only.
	NoTimeout bool
	// MatchDistance is the largest Hamming distance between perceptual
	// hashes that counts as the same image; 0 means the default
	// (imageutil.DefaultMatchDistance).
	MatchDistance int
	// NoPHash turns perceptual matching off: removed images then match by
	// URL and SHA-256 only.
	NoPHash bool
	// UprightOnly skips the search for faces in the image turned by 90°,
	// 270° and 180°. By default, when the upright image shows no face,
	// CheckImage looks there too (sideways and upside-down uploads without
	// EXIF orientation), in one copy reduced 4 times (never below
	// embed.TurnMinSide a side), where faces of at least 4*MinFaceSize are
	// found in large images, and stops at the first turn that shows a face.
	// The copy is a box mean of the decoded image (a JPEG's, through an
	// embedder with FacesBytesWith, is DCT-scaled instead). With an
	// embed.Dlib, a reduced copy is scanned once per turn, without the crop
	// retry; an image small enough to be scanned whole keeps it. An
	// embedder without FacesBytesWith scans each turned copy with its
	// Faces, crop retry and all.
	UprightOnly bool
	// WeakFaces sends faces the detector barely found to review when an
	// enrolled face is near (see WeakFaceRule); WeakFaceRule{Disabled:
	// true} turns it off. A zero Review means the embedder's model's
	// calibrated embed.Model.WeakReview, and the rule is off for a model
	// without one.
	WeakFaces WeakFaceRule
}

// DefaultFilterConfig returns the configuration the zero value means: the
// policy and weak-face distance calibrated for the embedder's model (left
// zero here, resolved by NewFilter from embed.Model), a 30 s timeout per
// check, the default perceptual-hash distance.
func DefaultFilterConfig() FilterConfig {
	return FilterConfig{WeakFaces: WeakFaceRule{MaxScore: defaultWeakMaxScore}, Timeout: defaultTimeout, MatchDistance: phashMatchDistance}
}

// Filter answers "may I index or show this image?" against a Registry's
// approved requests. It stores and logs nothing about the images and faces
// it checks. Approvals, withdrawals and suspensions in the registry take
// effect in the Filter at once.
//
// Every method is safe for concurrent use. Callers index or show an image
// only when the Decision's Verdict is Allow (Verdict.MayIndex).
type Filter struct {
	reg   *Registry
	emb   embed.Embedder
	model int // the index of emb's model among the registry's models
	dec   *Decider
	cfg   FilterConfig
}

// NewFilter returns a Filter over reg. emb finds and describes faces in the
// images CheckImage is given; its model must be one the registry's faces
// are enrolled with (ErrModel otherwise). It fails if reg is nil, closed or
// inconsistent, or the configuration is invalid (ErrPolicy for the policy
// and the weak-face rule).
func NewFilter(reg *Registry, emb embed.Embedder, cfg FilterConfig) (*Filter, error) {
	if reg == nil {
		return nil, fmt.Errorf("%w: nil registry", ErrNoRegistry)
	}
	if err := reg.usable(); err != nil {
		return nil, fmt.Errorf("exclusion: new filter: %w", err)
	}
	if emb == nil {
		return nil, fmt.Errorf("exclusion: new filter: %w", ErrNoEmbedder)
	}
	model, err := reg.modelIndex(emb.Model())
	if err != nil {
		return nil, fmt.Errorf("exclusion: new filter: %w", err)
	}
	m := emb.Model()
	if cfg.Policy == nil {
		if cfg.Policy, err = DefaultPolicyFor(m); err != nil {
			return nil, fmt.Errorf("exclusion: new filter: %w", err)
		}
	}
	if !cfg.WeakFaces.Disabled && cfg.WeakFaces.Review == 0 {
		cfg.WeakFaces.Review = m.WeakReview
		cfg.WeakFaces.Disabled = m.WeakReview == 0
	}
	dec, err := NewDecider(cfg.Policy, cfg.WeakFaces)
	if err != nil {
		return nil, err
	}
	cfg.WeakFaces = dec.weak
	if cfg.Timeout < 0 || cfg.MatchDistance < 0 || cfg.MatchDistance > 64 {
		return nil, fmt.Errorf("%w: Timeout %v and MatchDistance %d: need Timeout >= 0 and 0 <= MatchDistance <= 64 (NoTimeout and NoPHash turn them off)", ErrPolicy, cfg.Timeout, cfg.MatchDistance)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.NoTimeout {
		cfg.Timeout = 0
	}
	if cfg.MatchDistance == 0 {
		cfg.MatchDistance = phashMatchDistance
	}
	if cfg.NoPHash {
		cfg.MatchDistance = 0
	}
	return &Filter{reg: reg, emb: emb, model: model, dec: dec, cfg: cfg}, nil
}

// MatchKind says how an image matched a removed image.
type MatchKind string

const (
	MatchURL    MatchKind = "url"    // the normalised URL was removed
	MatchSHA256 MatchKind = "sha256" // the same bytes were removed
	MatchPHash  MatchKind = "phash"  // a perceptually equal image was removed
)

// ImageMatch is an image-level match against an approved request.
type ImageMatch struct {
	RequestID string    `json:"request_id"`
	By        MatchKind `json:"by"`
	// Distance and Threshold are the Hamming distance between perceptual
	// hashes and the largest that matches (MatchPHash only).
	Distance  int `json:"distance,omitempty"`
	Threshold int `json:"threshold,omitempty"`
}

// Match is an enrolled face near a checked face.
type Match struct {
	RequestID string `json:"request_id"`
	// FaceID is the enrolled face's id in the live index (not stable across
	// restarts).
	FaceID uint64 `json:"face_id"`
	// Distance is the Euclidean distance between the faces; Threshold is the
	// distance at or below which the enrolled face blocks.
	Distance  float64 `json:"distance"`
	Threshold float64 `json:"threshold"`
}

// FaceCheck is the verdict on one face of a checked image.
type FaceCheck struct {
	// Box is the face's box in the checked image (empty for CheckFaces).
	Box image.Rectangle `json:"box"`
	// Rotation is how far (degrees clockwise) the image was turned for the
	// face to be found upright: 0, 90, 180 or 270.
	Rotation int     `json:"rotation,omitempty"`
	Verdict  Verdict `json:"verdict"`
	// Matches are the enrolled faces that justify a Block or Review,
	// nearest first.
	Matches []Match `json:"matches,omitempty"`
	// ByWeakFaceRule reports that the weak-face rule, not the policy, sent
	// the face to review.
	ByWeakFaceRule bool `json:"by_weak_face_rule,omitempty"`
	// Err says why the verdict is Unchecked; nil otherwise. Decision.Err
	// carries it too.
	Err error `json:"-"`
}

// Decision is a Filter's answer.
type Decision struct {
	// Verdict is what the caller must do; only Allow permits indexing.
	Verdict Verdict `json:"verdict"`
	// RequestIDs are the approved requests that match (Block or Review),
	// sorted.
	RequestIDs []string `json:"request_ids,omitempty"`
	// Images are image-level matches (URL, SHA-256, perceptual hash).
	Images []ImageMatch `json:"images,omitempty"`
	// Faces are the faces checked, each with its own verdict. An image
	// blocked by an image-level match is not searched for faces.
	Faces []FaceCheck `json:"faces,omitempty"`
	// Err says why the verdict is Unchecked (never nil then); nil
	// otherwise.
	Err error `json:"-"`
}

// MarshalJSON encodes the decision with Err as the string "error".
func (d Decision) MarshalJSON() ([]byte, error) {
	type plain Decision
	out := struct {
		plain
		Error string `json:"error,omitempty"`
	}{plain: plain(d)}
	if d.Err != nil {
		out.Error = d.Err.Error()
	}
	return json.Marshal(out)
}

// unchecked returns an Unchecked decision wrapping err.
func unchecked(err error) Decision {
	if err == nil {
		err = ErrUnchecked
	}
	return Decision{Verdict: Unchecked, Err: err}
}

// begin bounds ctx by the timeout and checks that the registry is usable.
func (f *Filter) begin(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if f == nil || f.reg == nil {
		return ctx, func() {}, fmt.Errorf("%w: nil filter", ErrUnchecked)
	}
	cancel := context.CancelFunc(func() {})
	if f.cfg.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, f.cfg.Timeout)
	}
	if err := ctx.Err(); err != nil {
		return ctx, cancel, fmt.Errorf("%w: %w", ErrUnchecked, err)
	}
	if err := f.reg.usable(); err != nil {
		return ctx, cancel, fmt.Errorf("%w: %w", ErrUnchecked, err)
	}
	return ctx, cancel, nil
}

// finish fails the decision closed if the context ended or the registry
// became unusable while it was made, and fills RequestIDs.
func (f *Filter) finish(ctx context.Context, d Decision) Decision {
	if d.Verdict != Block {
		if err := ctx.Err(); err != nil {
			return unchecked(fmt.Errorf("%w: %w", ErrUnchecked, err))
		}
	}
	if err := f.reg.usable(); err != nil {
		return unchecked(fmt.Errorf("%w: %w", ErrUnchecked, err))
	}
	ids := []string{}
	for _, m := range d.Images {
		ids = append(ids, m.RequestID)
	}
	for _, fc := range d.Faces {
		for _, m := range fc.Matches {
			ids = append(ids, m.RequestID)
		}
	}
	slices.Sort(ids)
	d.RequestIDs = slices.Compact(ids)
	if len(d.RequestIDs) == 0 {
		d.RequestIDs = nil
	}
	if d.Verdict == Unchecked && d.Err == nil {
		var errs []error
		for _, fc := range d.Faces {
			if fc.Err != nil {
				errs = append(errs, fc.Err)
			}
		}
		if d.Err = errors.Join(errs...); d.Err == nil {
			d.Err = ErrUnchecked
		}
	}
	return d
}

// combine returns the stricter of two verdicts: Block, then Unchecked, then
// Review, then Allow.
func combine(a, b Verdict) Verdict {
	rank := func(v Verdict) int {
		switch v {
		case Block:
			return 3
		case Unchecked:
			return 2
		case Review:
			return 1
		case Allow:
			return 0
		}
		return 2
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// CheckImage reads an encoded image (at most 20 MiB) and decides whether it
// may be indexed: it blocks an image whose bytes (SHA-256) or perceptual hash
// match an approved removal or opt-out photo, and otherwise checks every face
// in it against the approved faces. Any failure (read, decode, limits,
// embedder, timeout, cancelled ctx, closed registry) answers Unchecked with
// Err set; it never answers Allow on error. Safe for concurrent use.
func (f *Filter) CheckImage(ctx context.Context, r io.Reader) Decision {
	ctx, cancel, err := f.begin(ctx)
	defer cancel()
	if err != nil {
		return unchecked(err)
	}
	if r == nil {
		return unchecked(fmt.Errorf("%w: nil reader", ErrUnchecked))
	}
	data, err := io.ReadAll(io.LimitReader(r, maxImageBytes+1))
	if err != nil {
		return unchecked(fmt.Errorf("%w: reading image: %w", ErrUnchecked, err))
	}
	return f.checkBytes(ctx, data)
}

// CheckImageBytes is CheckImage for an image already in memory.
func (f *Filter) CheckImageBytes(ctx context.Context, data []byte) Decision {
	ctx, cancel, err := f.begin(ctx)
	defer cancel()
	if err != nil {
		return unchecked(err)
	}
	return f.checkBytes(ctx, data)
}

// checkBytes checks an encoded image (see checkImage in image.go).
func (f *Filter) checkBytes(ctx context.Context, data []byte) Decision {
	return f.checkImage(ctx, data)
}

// CheckFaces decides on faces already described (for example by a search
// service that stores descriptors): Block if any face matches an approved
// opt-out, Review if any is too close to allow, else Allow. No faces is
// Allow. Safe for concurrent use.
func (f *Filter) CheckFaces(ctx context.Context, faces []embed.Descriptor) Decision {
	ctx, cancel, err := f.begin(ctx)
	defer cancel()
	if err != nil {
		return unchecked(err)
	}
	d := Decision{Verdict: Allow}
	for i := range faces {
		if i%64 == 63 && ctx.Err() != nil {
			return unchecked(fmt.Errorf("%w: %w", ErrUnchecked, ctx.Err()))
		}
		fc := f.checkFace(faces[i], nil)
		d.Faces = append(d.Faces, fc)
		d.Verdict = combine(d.Verdict, fc.Verdict)
	}
	return f.finish(ctx, d)
}

// CheckURL decides on a URL: Block if its normalised form (NormalizeURL) was
// removed by an approved image removal, Allow otherwise, Unchecked if it is
// not an http(s) URL. It says nothing about the image's content: check that
// with CheckImage. Safe for concurrent use.
func (f *Filter) CheckURL(ctx context.Context, rawURL string) Decision {
	ctx, cancel, err := f.begin(ctx)
	defer cancel()
	if err != nil {
		return unchecked(err)
	}
	u, err := NormalizeURL(rawURL)
	if err != nil {
		return unchecked(fmt.Errorf("%w: %w", ErrUnchecked, err))
	}
	d := Decision{Verdict: Allow, Images: f.reg.matchURL(u)}
	if len(d.Images) > 0 {
		d.Verdict = Block
	}
	return f.finish(ctx, d)
}

// checkFace decides on one face of quality qual (nil: unknown) against the
// registry's live faces of the Filter's model, at the registry's time.
func (f *Filter) checkFace(q embed.Descriptor, qual *embed.Quality) FaceCheck {
	return f.dec.Decide(f.reg.gallery(f.model), q, qual, f.reg.cfg.Now())
}

// matchSHA, matchURL and matchPHash return the image-level matches of
// approved requests that are not suspended now.
func (r *Registry) matchSHA(sum string) []ImageMatch {
	now := r.cfg.Now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []ImageMatch
	for _, id := range r.sha[sum] {
		if r.suspendedLocked(id, now) {
			continue
		}
		out = append(out, ImageMatch{RequestID: id, By: MatchSHA256})
	}
	return out
}

func (r *Registry) matchURL(u string) []ImageMatch {
	now := r.cfg.Now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []ImageMatch
	for _, id := range r.urls[u] {
		if r.suspendedLocked(id, now) {
			continue
		}
		out = append(out, ImageMatch{RequestID: id, By: MatchURL})
	}
	return out
}

func (r *Registry) matchPHash(h uint64, maxDist int) []ImageMatch {
	now := r.cfg.Now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []ImageMatch
	for _, e := range r.hashes {
		if d := hashDistance(h, e.h); d <= maxDist && !r.suspendedLocked(e.req, now) {
			out = append(out, ImageMatch{RequestID: e.req, By: MatchPHash, Distance: d, Threshold: maxDist})
		}
	}
	return out
}

// suspendedLocked reports whether approved request id is suspended at now.
// r.mu must be held.
func (r *Registry) suspendedLocked(id string, now time.Time) bool {
	lr := r.reqs[id]
	return lr != nil && now.Before(lr.until)
}

// Item is one image a search service is about to show, or a crawler to
// index. Give at least Image or Faces: an item whose faces are unknown
// (Image nil and Faces nil) is Unchecked. A non-nil empty Faces means "no
// faces".
type Item struct {
	// Key is the caller's id for the item; the Filter does not read it.
	Key string
	// URL is the image's source URL; optional.
	URL string
	// Image is the encoded image; optional if Faces is given.
	Image []byte
	// Faces are the image's face descriptors, if already known.
	Faces []embed.Descriptor
}

// Check decides on one item: its URL, its image (when given) or else its
// faces. The strictest verdict wins. Safe for concurrent use.
func (f *Filter) Check(ctx context.Context, it Item) Decision {
	var parts []Decision
	if it.URL != "" {
		parts = append(parts, f.CheckURL(ctx, it.URL))
	}
	switch {
	case it.Image != nil:
		parts = append(parts, f.CheckImageBytes(ctx, it.Image))
	case it.Faces != nil:
		parts = append(parts, f.CheckFaces(ctx, it.Faces))
	default:
		parts = append(parts, unchecked(fmt.Errorf("%w: item %q has neither image nor faces", ErrUnchecked, it.Key)))
	}
	d := Decision{Verdict: Allow}
	var errs []error
	for _, p := range parts {
		d.Verdict = combine(d.Verdict, p.Verdict)
		d.RequestIDs = append(d.RequestIDs, p.RequestIDs...)
		d.Images = append(d.Images, p.Images...)
		d.Faces = append(d.Faces, p.Faces...)
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	slices.Sort(d.RequestIDs)
	d.RequestIDs = slices.Compact(d.RequestIDs)
	if d.Verdict == Unchecked {
		d.Err = errors.Join(errs...)
		if d.Err == nil {
			d.Err = ErrUnchecked
		}
	}
	return d
}

// FilterReport counts what FilterResults did.
type FilterReport struct {
	// Checked counts the items; Kept those allowed (returned); Blocked,
	// Review and Unchecked those dropped, by verdict.
	Checked   int `json:"checked"`
	Kept      int `json:"kept"`
	Blocked   int `json:"blocked"`
	Review    int `json:"review"`
	Unchecked int `json:"unchecked"`
}

// Dropped returns the number of items dropped.
func (r FilterReport) Dropped() int { return r.Blocked + r.Review + r.Unchecked }

// FilterResults returns the items that may be shown (verdict Allow), in
// order, and counts the rest, which are dropped: blocked, sent to review, or
// unchecked. It never returns an item it could not check. Safe for
// concurrent use.
func (f *Filter) FilterResults(ctx context.Context, items []Item) ([]Item, FilterReport) {
	var rep FilterReport
	kept := make([]Item, 0, len(items))
	for _, it := range items {
		rep.Checked++
		switch d := f.Check(ctx, it); d.Verdict {
		case Allow:
			rep.Kept++
			kept = append(kept, it)
		case Block:
			rep.Blocked++
		case Review:
			rep.Review++
		default:
			rep.Unchecked++
		}
	}
	return kept, rep
}
