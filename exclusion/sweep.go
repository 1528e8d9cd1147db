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
// in the order met, the ids whose face the Filter's policy blocks or sends to
// review against the selected approved requests: what to purge after new
// opt-outs are approved. It stops with ctx's error when ctx ends; the ids
// found so far are returned with it. Safe for concurrent use.
func Sweep[K any](ctx context.Context, f *Filter, sel SweepSelect, pairs iter.Seq2[K, embed.Descriptor]) ([]K, error) {
	if f == nil || f.reg == nil {
		return nil, fmt.Errorf("%w: nil filter", ErrUnchecked)
	}
	if err := f.reg.usable(); err != nil {
		return nil, fmt.Errorf("exclusion: sweep: %w", err)
	}
	set, err := f.reg.sweepSet(f.model, sel)
	if err != nil {
		return nil, err
	}
	var out []K
	if set.faces.len() == 0 {
		return out, ctx.Err()
	}
	radius := f.policy.Radius()
	for _, t := range set.thresholds {
		radius = max(radius, t)
	}
	n := 0
	for id, d := range pairs {
		if n++; n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return out, fmt.Errorf("exclusion: sweep: %w", err)
			}
		}
		hits, err := set.faces.within(d, radius)
		if err != nil {
			return out, fmt.Errorf("exclusion: sweep: %w", err)
		}
		if len(hits) == 0 {
			continue
		}
		cands := make([]Candidate, len(hits))
		for i, h := range hits {
			cands[i] = Candidate{RequestID: set.req[h.id], FaceID: h.id, Distance: h.dist, Threshold: set.thresholds[set.req[h.id]]}
		}
		if v, _ := f.policy.Decide(d, cands); v != Allow {
			out = append(out, id)
		}
	}
	if err := f.reg.usable(); err != nil {
		return out, fmt.Errorf("exclusion: sweep: %w", err)
	}
	return out, ctx.Err()
}

type sweepSet struct {
	faces      *flatIndex
	req        map[uint64]string
	thresholds map[string]float64
}

// sweepSet copies the selected approved requests' faces, their
// descriptors of the registry's model number model, into a private index.
func (r *Registry) sweepSet(model int, sel SweepSelect) (sweepSet, error) {
	faces, err := newFlatIndex(r.models[model].Dim)
	if err != nil {
		return sweepSet{}, err
	}
	s := sweepSet{faces: faces, req: map[uint64]string{}, thresholds: map[string]float64{}}
	all := sel.Since.IsZero() && len(sel.RequestIDs) == 0
	r.mu.RLock()
	defer r.mu.RUnlock()
	for id, lr := range r.reqs {
		if !all && !slices.Contains(sel.RequestIDs, id) && (sel.Since.IsZero() || lr.decided.Before(sel.Since)) {
			continue
		}
		s.thresholds[id] = lr.threshold
		for i, fid := range lr.faceIDs {
			if err := s.faces.add(fid, lr.descs[i][model]); err != nil {
				return s, err
			}
			s.req[fid] = id
		}
	}
	return s, nil
}
