package exclusion

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/faceoptout/faceoptout/embed"
)

// Default thresholds, Euclidean distances between dlib descriptors. 0.6 is
// dlib's own operating point. On the faces/bbt crops through our pipeline,
// same-person distances reach 0.654 (a weak detection: see WeakFaceRule)
// and different people come as close as 0.629 (plain go-face reported
// 0.569 / 0.625 because it does not detect that face). See the package
// documentation.
const (
	DefaultBlockThreshold  = 0.6
	DefaultReviewThreshold = 0.6
)

// DefaultPolicy returns the policy a Filter uses when none is configured:
// NewThresholdPolicy(DefaultBlockThreshold, DefaultReviewThreshold).
func DefaultPolicy() Policy {
	return &ThresholdPolicy{Block: DefaultBlockThreshold, Review: DefaultReviewThreshold}
}

// FilterConfig configures a Filter.
type FilterConfig struct {
	// Policy turns nearby enrolled faces into a verdict; nil means
	// DefaultPolicy().
	Policy Policy
	// Timeout bounds each check (on top of the caller's context); 0 means
	// no extra bound. A check that runs out of time answers Unchecked.
	Timeout time.Duration
	// MatchDistance is the largest Hamming distance between perceptual
	// hashes that counts as the same image; 0 means the default
	// (imageutil.DefaultMatchDistance), negative disables perceptual matching.
	MatchDistance int
	// UprightOnly skips the search for faces in the image turned by 90°,
	// 180° and 270°. By default CheckImage also looks there (sideways and
	// upside-down uploads without EXIF orientation), which costs up to four
	// embedder passes per image that is not blocked.
	UprightOnly bool
	// WeakFaces sends faces the detector barely found to review when an
	// enrolled face is near (see WeakFaceRule); the zero value turns it
	// off, DefaultFilterConfig turns it on.
	WeakFaces WeakFaceRule
}

// DefaultFilterConfig returns the default Filter configuration: the default
// policy, the default weak-face rule, a 30 s timeout per check, the default
// perceptual-hash distance.
func DefaultFilterConfig() FilterConfig {
	return FilterConfig{Policy: DefaultPolicy(), WeakFaces: DefaultWeakFaceRule(), Timeout: 30 * time.Second, MatchDistance: phashMatchDistance}
}

// Filter answers "may I index or show this image?" against a Registry's
// approved requests. It stores and logs nothing about the images and faces
// it checks. Approvals and withdrawals in the registry take effect in the
// Filter at once.
//
// Every method is safe for concurrent use. Callers index or show an image
// only when the Decision's Verdict is Allow (Verdict.MayIndex).
type Filter struct {
	reg    *Registry
	emb    embed.Embedder
	model  int // the index of emb's model among the registry's models
	policy Policy
	cfg    FilterConfig
	// cal is policy as a Calibrator, or nil. calib caches Calibrate's value
	// per enrolled face ID (uint64 -> float64); the registry never reuses a
	// face ID, so an entry cannot go stale. sync.Map guards itself.
	cal   Calibrator
	calib sync.Map
	// whole: the policy is a RequestPolicy that wants whole requests.
	whole bool
}

// NewFilter returns a Filter over reg. emb finds and describes faces in the
// images CheckImage is given; it must be the embedder (model) the registry's
// faces were enrolled with. It fails if reg is nil, closed or inconsistent,
// or the policy is invalid.
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
	if cfg.Policy == nil {
		cfg.Policy = DefaultPolicy()
	}
	if rad := cfg.Policy.Radius(); !(rad > 0 && rad <= 2) {
		return nil, fmt.Errorf("%w: radius %g not in (0, 2]", ErrPolicy, rad)
	}
	if err := cfg.WeakFaces.validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("exclusion: new filter: negative timeout %v", cfg.Timeout)
	}
	if cfg.MatchDistance == 0 {
		cfg.MatchDistance = phashMatchDistance
	}
	f := &Filter{reg: reg, emb: emb, model: model, policy: cfg.Policy, cfg: cfg}
	f.cal, _ = cfg.Policy.(Calibrator)
	if rp, ok := cfg.Policy.(RequestPolicy); ok {
		f.whole = rp.WholeRequests()
	}
	return f, nil
}

// calibration returns the policy's Calibrate value for the enrolled face id
// with descriptor d, computing it on first use. Safe for concurrent use.
func (f *Filter) calibration(id uint64, d embed.Descriptor) float64 {
	if v, ok := f.calib.Load(id); ok {
		return v.(float64)
	}
	v := f.cal.Calibrate(d)
	f.calib.Store(id, v)
	return v
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
	// Err says why the verdict is Unchecked; nil otherwise.
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

// checkFace runs the policy, then the weak-face rule, on one face of
// quality qual (nil: unknown).
func (f *Filter) checkFace(q embed.Descriptor, qual *embed.Quality) FaceCheck {
	if len(q) != f.reg.models[f.model].Dim || !q.Finite() {
		return FaceCheck{Verdict: Unchecked}
	}
	var cal func(uint64, embed.Descriptor) float64
	if f.cal != nil {
		cal = f.calibration
	}
	rad := f.policy.Radius()
	cands, err := f.reg.candidates(f.model, q, max(rad, f.cfg.WeakFaces.Radius()), f.whole, cal)
	if err != nil {
		return FaceCheck{Verdict: Unchecked}
	}
	v, why, weak := Decide(f.policy, f.cfg.WeakFaces, q, qual, cands)
	fc := FaceCheck{Verdict: v}
	if v == Block || v == Review {
		for _, c := range why {
			t := f.threshold(v, c)
			if weak {
				t = f.cfg.WeakFaces.Review
			}
			fc.Matches = append(fc.Matches, Match{RequestID: c.RequestID, FaceID: c.FaceID, Distance: c.Distance, Threshold: t})
		}
	}
	switch v {
	case Allow, Block, Review:
	default:
		fc.Verdict = Unchecked
	}
	return fc
}

// threshold reports the distance that made c count for verdict v.
func (f *Filter) threshold(v Verdict, c Candidate) float64 {
	if v == Block && c.Threshold > 0 {
		return c.Threshold
	}
	if tp, ok := f.policy.(*ThresholdPolicy); ok {
		if v == Block {
			return tp.Block
		}
		return tp.Review
	}
	return f.policy.Radius()
}

// candidates returns the approved faces within radius of q (widened to the
// largest per-request threshold), nearest first; with whole, also every
// other face of the requests those faces belong to. When cal is not nil it
// gives each candidate's Calibration from the face's id and enrolled
// descriptor.
func (r *Registry) candidates(model int, q embed.Descriptor, radius float64, whole bool, cal func(uint64, embed.Descriptor) float64) ([]Candidate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	radius = max(radius, r.maxThr)
	hits, err := r.faces[model].within(q, radius)
	if err != nil {
		return nil, err
	}
	out := make([]Candidate, 0, len(hits))
	add := func(id uint64, lf liveFace, dist float64) {
		c := Candidate{RequestID: lf.req, FaceID: id, Distance: dist, Threshold: lf.threshold, Quality: lf.quality}
		if cal != nil {
			c.Calibration = cal(id, lf.descs[model])
		}
		out = append(out, c)
	}
	var seen map[uint64]bool
	if whole {
		seen = make(map[uint64]bool, len(hits))
	}
	for _, h := range hits {
		lf, ok := r.byFace[h.id]
		if !ok {
			continue
		}
		add(h.id, lf, h.dist)
		if whole {
			seen[h.id] = true
		}
	}
	if !whole {
		return out, nil
	}
	n := len(out)
	done := map[string]bool{}
	for _, c := range out[:n] {
		if done[c.RequestID] {
			continue
		}
		done[c.RequestID] = true
		lr := r.reqs[c.RequestID]
		if lr == nil {
			continue
		}
		for _, id := range lr.faceIDs {
			if lf, ok := r.byFace[id]; ok && !seen[id] {
				seen[id] = true
				add(id, lf, q.Distance(lf.descs[model]))
			}
		}
	}
	if len(out) > n {
		slices.SortStableFunc(out, func(a, b Candidate) int { return cmp.Compare(a.Distance, b.Distance) })
	}
	return out, nil
}

func (r *Registry) matchSHA(sum string) []ImageMatch {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []ImageMatch
	for _, id := range r.sha[sum] {
		out = append(out, ImageMatch{RequestID: id, By: MatchSHA256})
	}
	return out
}

func (r *Registry) matchURL(u string) []ImageMatch {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []ImageMatch
	for _, id := range r.urls[u] {
		out = append(out, ImageMatch{RequestID: id, By: MatchURL})
	}
	return out
}

func (r *Registry) matchPHash(h uint64, maxDist int) []ImageMatch {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []ImageMatch
	for _, e := range r.hashes {
		if d := hashDistance(h, e.h); d <= maxDist {
			out = append(out, ImageMatch{RequestID: e.req, By: MatchPHash, Distance: d, Threshold: maxDist})
		}
	}
	return out
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
