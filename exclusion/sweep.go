package exclusion

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/faceoptout/faceoptout/embed"
)

// SweepSelect chooses the approved requests a sweep looks for. With both
// fields empty it looks for every approved request.
type SweepSelect struct {
	// Since selects requests approved at or after this time.
	Since time.Time
	// RequestIDs selects these requests (if approved).
	RequestIDs []string
}

// Sweep walks an existing search index's (id, descriptor) pairs and returns,
// in the order met, the ids to purge after new opt-outs are approved:
// those whose face CheckFaces would not allow against the selected approved
// requests (Block, Review, or Unchecked for a descriptor that cannot be
// judged). Each face is decided by the Filter's Decider, as CheckFaces
// decides it: same policy, same weak-face rule (descriptors carry no
// detection quality, so it applies to weak enrolled faces), suspended faces
// left out. It stops with ctx's error when ctx ends; the ids found so far
// are returned with it. Safe for concurrent use.
func Sweep[K any](ctx context.Context, f *Filter, sel SweepSelect, pairs iter.Seq2[K, embed.Descriptor]) ([]K, error) {
	if f == nil || f.reg == nil {
		return nil, fmt.Errorf("%w: nil filter", ErrUnchecked)
	}
	if err := f.reg.usable(); err != nil {
		return nil, fmt.Errorf("exclusion: sweep: %w", err)
	}
	g, err := f.reg.sweepGallery(f.model, sel)
	if err != nil {
		return nil, err
	}
	var out []K
	if g.Len() == 0 {
		return out, ctx.Err()
	}
	n := 0
	for id, d := range pairs {
		if n++; n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return out, fmt.Errorf("exclusion: sweep: %w", err)
			}
		}
		if fc := f.dec.Decide(g, d, nil, f.reg.cfg.Now()); fc.Verdict != Allow {
			out = append(out, id)
		}
	}
	if err := f.reg.usable(); err != nil {
		return out, fmt.Errorf("exclusion: sweep: %w", err)
	}
	return out, ctx.Err()
}

// sweepGallery copies the selected approved requests' faces of the
// registry's model number model (same ids, same suspensions) into a
// private gallery.
func (r *Registry) sweepGallery(model int, sel SweepSelect) (*Gallery, error) {
	live := r.gallery(model)
	if live == nil {
		return nil, fmt.Errorf("%w: model %d of %d", ErrModel, model, len(r.galleries))
	}
	g, err := NewGallery(live.idx.dim())
	if err != nil {
		return nil, err
	}
	all := sel.Since.IsZero() && len(sel.RequestIDs) == 0
	r.mu.RLock()
	defer r.mu.RUnlock()
	for id, lr := range r.reqs {
		if !all && !slices.Contains(sel.RequestIDs, id) && (sel.Since.IsZero() || lr.decided.Before(sel.Since)) {
			continue
		}
		if err := g.Add(live.request(id)...); err != nil {
			return nil, fmt.Errorf("exclusion: sweep: %w", err)
		}
	}
	return g, nil
}
