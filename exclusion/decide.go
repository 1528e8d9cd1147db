package exclusion

// This file is where the verdict on one face is decided. Every path that
// judges a face (Filter.CheckImage, CheckFaces, Check, FilterResults,
// CheckBatch, Sweep, and the evaluation harness in exclusion/evaluation)
// calls Decider.Decide.

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/index"
)

// Decider decides on one described face against a Gallery of enrolled
// faces: it picks the candidates (every face within the largest radius
// anyone needs, whole requests for a RequestPolicy, without suspended faces),
// runs the Policy on them, then the weak-face rule, and reports the verdict
// with the enrolled faces that justify it.
//
// A Filter holds one; the evaluation harness makes one per split, so it
// measures exactly what the Filter runs. A Decider keeps each enrolled
// face's Calibrate value by face ID: use one Decider only with galleries
// in which an ID names the same face (the registry's and Sweep's copies of
// it). A Decider is safe for concurrent use when its Policy is.
type Decider struct {
	policy Policy
	weak   WeakFaceRule // resolved: Disabled, or both fields set
	cal    Calibrator   // policy as a Calibrator, or nil
	whole  bool         // policy is a RequestPolicy that wants whole requests
	// calib caches Calibrate's value per enrolled face ID (uint64 ->
	// float64); galleries never reuse a face ID, so an entry cannot go
	// stale. sync.Map guards itself.
	calib sync.Map
}

// NewDecider returns a Decider running pol (nil: DefaultPolicy()) and the
// weak-face rule w (zero fields: the defaults; see WeakFaceRule). It fails
// with ErrPolicy when the policy's radius is not in (0, 2] or the rule is
// invalid.
func NewDecider(pol Policy, w WeakFaceRule) (*Decider, error) {
	if pol == nil {
		pol = DefaultPolicy()
	}
	if rad := pol.Radius(); !(rad > 0 && rad <= 2) {
		return nil, fmt.Errorf("%w: radius %g not in (0, 2]", ErrPolicy, rad)
	}
	w, err := w.resolve()
	if err != nil {
		return nil, err
	}
	d := &Decider{policy: pol, weak: w}
	d.cal, _ = pol.(Calibrator)
	if rp, ok := pol.(RequestPolicy); ok {
		d.whole = rp.WholeRequests()
	}
	return d, nil
}

// Decide returns the verdict on the face with descriptor probe, found with
// detection quality q (nil: unknown, as for descriptors without their
// detection), against the faces of g that are not suspended at now.
//
// The verdict is Block, Review or Allow, with Matches for Block and Review;
// or Unchecked with Err set when the face cannot be judged (a descriptor
// that is not finite or of another length than the gallery's, a failed
// search, a policy that answers something else). Safe for concurrent use
// when the Policy is.
func (d *Decider) Decide(g *Gallery, probe embed.Descriptor, q *embed.Quality, now time.Time) FaceCheck {
	if g == nil {
		return uncheckedFace(fmt.Errorf("%w: no gallery", ErrUnchecked))
	}
	if !probe.Finite() {
		return uncheckedFace(fmt.Errorf("%w: %w", ErrUnchecked, ErrDescriptor))
	}
	rad := d.policy.Radius()
	cands, err := g.candidates(probe, max(rad, d.weak.radius()), d.whole, now, d.calibration)
	if err != nil {
		return uncheckedFace(fmt.Errorf("%w: %w", ErrUnchecked, err))
	}
	// The policy sees the candidates within its radius or their own
	// threshold; with whole requests, every face of such a request.
	in := cands
	if d.weak.radius() > rad {
		keep := map[string]bool{}
		for _, c := range cands {
			if c.Distance <= rad || (c.Threshold > 0 && c.Distance <= c.Threshold) {
				keep[c.RequestID] = true
			}
		}
		in = make([]Candidate, 0, len(cands))
		for _, c := range cands {
			if c.Distance <= rad || (c.Threshold > 0 && c.Distance <= c.Threshold) || (d.whole && keep[c.RequestID]) {
				in = append(in, c)
			}
		}
	}
	pv, why := d.policy.Decide(probe, in)
	switch pv {
	case Allow, Block, Review:
	default:
		return uncheckedFace(fmt.Errorf("%w: policy %T answered %v", ErrUnchecked, d.policy, pv))
	}
	v, wwhy := d.weak.apply(pv, q, cands)
	fc := FaceCheck{Verdict: v, ByWeakFaceRule: v != pv}
	if fc.ByWeakFaceRule {
		why = wwhy
	}
	if v == Allow {
		return fc
	}
	for _, c := range why {
		t := d.threshold(v, c)
		if fc.ByWeakFaceRule {
			t = d.weak.Review
		}
		fc.Matches = append(fc.Matches, Match{RequestID: c.RequestID, FaceID: c.FaceID, Distance: c.Distance, Threshold: t})
	}
	return fc
}

// uncheckedFace is an Unchecked FaceCheck for err.
func uncheckedFace(err error) FaceCheck { return FaceCheck{Verdict: Unchecked, Err: err} }

// threshold reports the distance that made c count for verdict v.
func (d *Decider) threshold(v Verdict, c Candidate) float64 {
	if v == Block && c.Threshold > 0 {
		return c.Threshold
	}
	if tp, ok := d.policy.(*ThresholdPolicy); ok {
		if v == Block {
			return tp.Block
		}
		return tp.Review
	}
	return d.policy.Radius()
}

// calibration returns the policy's Calibrate value for the enrolled face
// id with descriptor e, computed on first use and cached (0 when the policy
// is not a Calibrator). Safe for concurrent use.
func (d *Decider) calibration(id uint64, e embed.Descriptor) float64 {
	if d.cal == nil {
		return 0
	}
	if v, ok := d.calib.Load(id); ok {
		return v.(float64)
	}
	v := d.cal.Calibrate(e)
	d.calib.Store(id, v)
	return v
}

// EnrolledFace is one enrolled face of a Gallery.
type EnrolledFace struct {
	// ID identifies the face in its gallery. A Decider caches per-face
	// values by ID, so an ID must never be reused for another face.
	ID uint64
	// RequestID is the request the face belongs to.
	RequestID string
	// Descriptor is the enrolled descriptor; the gallery keeps a copy in
	// its index (and none in the EnrolledFace it keeps).
	Descriptor embed.Descriptor
	// Quality is the face's quality at enrolment (zero when unknown).
	Quality embed.Quality
	// Threshold is the request's own blocking distance (0: the policy's).
	Threshold float64
	// SuspendedUntil: the face blocks nothing before this time (a
	// reviewer's temporary unmatch). Zero: not suspended.
	SuspendedUntil time.Time
}

// Gallery is a set of enrolled faces in an index.Index. NewGallery's is
// exact (index.Flat): a range search returns every face within the radius,
// which an opt-out filter needs (an approximate index could let an
// opted-out face through). The Registry keeps its approved faces in one per
// model (the live set every Filter reads), exact unless
// Config.Index.ApproximateAbove lets an HNSW graph answer above a size;
// Sweep copies the selected requests' faces into a private exact one, and
// the evaluation harness builds one per split.
//
// A Gallery is safe for concurrent use.
type Gallery struct {
	idx *faceIndex // guards itself

	mu     sync.RWMutex // guards faces, reqs and maxThr
	faces  map[uint64]EnrolledFace
	reqs   map[string][]uint64 // request id -> its face ids, in order added
	maxThr float64             // largest Threshold of a face in the gallery
}

// NewGallery returns an empty exact gallery for descriptors of dim
// numbers.
func NewGallery(dim int) (*Gallery, error) { return newGallery(dim, IndexConfig{}) }

// newGallery returns an empty gallery whose index follows cfg.
func newGallery(dim int, cfg IndexConfig) (*Gallery, error) {
	idx, err := newFaceIndex(dim, cfg)
	if err != nil {
		return nil, err
	}
	return &Gallery{idx: idx, faces: map[uint64]EnrolledFace{}, reqs: map[string][]uint64{}}, nil
}

// IndexStatus reports which index answers the gallery's searches (exact
// or HNSW), its size and the progress of a background graph build. Safe
// for concurrent use.
func (g *Gallery) IndexStatus() index.Status { return g.idx.status() }

// close stops a background graph build; the gallery keeps answering.
func (g *Gallery) close() { g.idx.close() }

// Add adds faces to the gallery: all of them, or none when one is invalid
// (a descriptor of the wrong length or not finite, an ID already present, a
// Threshold outside [0, 2]). Safe for concurrent use.
func (g *Gallery) Add(faces ...EnrolledFace) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.addLocked(faces)
}

func (g *Gallery) addLocked(faces []EnrolledFace) error {
	for i, f := range faces {
		if _, dup := g.faces[f.ID]; dup || slices.ContainsFunc(faces[:i], func(o EnrolledFace) bool { return o.ID == f.ID }) {
			return fmt.Errorf("exclusion: gallery: face id %d already present", f.ID)
		}
		if !(f.Threshold >= 0 && f.Threshold <= 2) {
			return fmt.Errorf("exclusion: gallery: face %d: threshold %g not in [0, 2]", f.ID, f.Threshold)
		}
	}
	for i, f := range faces {
		if err := g.idx.add(f.ID, f.Descriptor); err != nil {
			for _, o := range faces[:i] {
				g.idx.delete(o.ID)
			}
			return err
		}
	}
	for _, f := range faces {
		f.Descriptor = nil // the index holds it
		g.faces[f.ID] = f
		g.reqs[f.RequestID] = append(g.reqs[f.RequestID], f.ID)
		g.maxThr = max(g.maxThr, f.Threshold)
	}
	return nil
}

// Len returns the number of faces in the gallery, suspended or not. Safe
// for concurrent use.
func (g *Gallery) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.faces)
}

// replace removes request id's faces and adds faces (of that request), in
// one step for concurrent readers. On error the request has no face left.
func (g *Gallery) replace(id string, faces []EnrolledFace) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(id)
	return g.addLocked(faces)
}

// remove removes request id's faces.
func (g *Gallery) remove(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(id)
}

func (g *Gallery) removeLocked(id string) {
	ids, ok := g.reqs[id]
	if !ok {
		return
	}
	thr := 0.0
	for _, fid := range ids {
		thr = max(thr, g.faces[fid].Threshold)
		g.idx.delete(fid)
		delete(g.faces, fid)
	}
	delete(g.reqs, id)
	if thr >= g.maxThr {
		g.maxThr = 0
		for _, f := range g.faces {
			g.maxThr = max(g.maxThr, f.Threshold)
		}
	}
}

// request returns request id's faces, in the order added, each with a
// copy of its descriptor.
func (g *Gallery) request(id string) []EnrolledFace {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]EnrolledFace, 0, len(g.reqs[id]))
	for _, fid := range g.reqs[id] {
		f := g.faces[fid]
		f.Descriptor = g.idx.vector(fid)
		out = append(out, f)
	}
	return out
}

// candidates returns the faces not suspended at now within radius of q
// (widened to the largest per-request threshold), nearest first; with
// whole, also every other such face of the requests those faces belong to.
// cal gives each candidate's Calibration from the face's id and descriptor.
func (g *Gallery) candidates(q embed.Descriptor, radius float64, whole bool, now time.Time, cal func(uint64, embed.Descriptor) float64) ([]Candidate, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if dim := g.idx.dim(); len(q) != dim {
		return nil, fmt.Errorf("%w: %d numbers, the gallery holds %d", ErrDescriptor, len(q), dim)
	}
	hits, err := g.idx.within(q, max(radius, g.maxThr))
	if err != nil {
		return nil, err
	}
	out := make([]Candidate, 0, len(hits))
	var seen map[uint64]bool
	if whole {
		seen = make(map[uint64]bool, len(hits))
	}
	add := func(f EnrolledFace, dist float64) {
		out = append(out, Candidate{RequestID: f.RequestID, FaceID: f.ID, Distance: dist, Threshold: f.Threshold, Quality: f.Quality, Calibration: cal(f.ID, g.idx.vector(f.ID))})
	}
	for _, h := range hits {
		f, ok := g.faces[h.id]
		if !ok || now.Before(f.SuspendedUntil) {
			continue
		}
		add(f, h.dist)
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
		for _, fid := range g.reqs[c.RequestID] {
			if f := g.faces[fid]; !seen[fid] && !now.Before(f.SuspendedUntil) {
				seen[fid] = true
				add(f, q.Distance(g.idx.vector(fid)))
			}
		}
	}
	if len(out) > n {
		slices.SortStableFunc(out, func(a, b Candidate) int { return cmp.Compare(a.Distance, b.Distance) })
	}
	return out, nil
}
