package exclusion

import (
	"fmt"

	"github.com/faceoptout/faceoptout/embed"
)

// Defaults of the weak-face rule (DefaultWeakFaceRule spells them out).
const (
	defaultWeakMaxScore = 0.3
	defaultWeakReview   = embed.DlibWeakReview
)

// WeakFaceRule sends to review, rather than allow, a face whose descriptor
// is unreliable because the detector barely found it, when an enrolled face
// is a little farther than the policy blocks at.
//
// A face the HOG detector finds with a small margin (a turned head, a face
// cut by the photo's edge) is aligned poorly, and its descriptor lies
// farther from the person's other photos than the policy's threshold, while
// different people may lie nearer: no single threshold separates them (see
// exclusion/EVALUATION.md). Only weak faces pay: every other face is decided
// by the policy alone.
//
// The zero value is the default rule (DefaultWeakFaceRule); set Disabled to
// turn it off.
type WeakFaceRule struct {
	// Disabled turns the rule off: the policy alone decides.
	Disabled bool
	// MaxScore: a face is weak when the HOG detector found it (its
	// embed.Quality has a Pose) with a detection score below MaxScore.
	// 0 means the default, 0.3.
	MaxScore float64
	// Review: a face the policy allows goes to review when it, or the
	// enrolled face, is weak and they are within Review of each other.
	// 0 means the default, 0.68.
	Review float64
}

// DefaultWeakFaceRule returns the rule the zero value means, spelled out:
// faces found with a HOG margin below 0.3 go to review within 0.68.
func DefaultWeakFaceRule() WeakFaceRule {
	return WeakFaceRule{MaxScore: defaultWeakMaxScore, Review: defaultWeakReview}
}

// resolve fills in the defaults and checks the rule: MaxScore >= 0 and
// 0 < Review <= 2 once defaulted.
func (w WeakFaceRule) resolve() (WeakFaceRule, error) {
	if w.Disabled {
		return WeakFaceRule{Disabled: true}, nil
	}
	if w.MaxScore == 0 {
		w.MaxScore = defaultWeakMaxScore
	}
	if w.Review == 0 {
		w.Review = defaultWeakReview
	}
	if !(w.MaxScore > 0) || !(w.Review > 0 && w.Review <= 2) {
		return w, fmt.Errorf("%w: weak-face rule %+v: need MaxScore > 0 and 0 < Review <= 2", ErrPolicy, w)
	}
	return w, nil
}

// weak reports whether a face of quality q is weak under the rule; nil
// (the quality is unknown, as for CheckFaces and Sweep) is not weak.
func (w WeakFaceRule) weak(q *embed.Quality) bool {
	return !w.Disabled && q != nil && q.Pose != "" && q.Score < w.MaxScore
}

// radius returns the distance the rule needs candidates within (0 when
// the rule is off).
func (w WeakFaceRule) radius() float64 {
	if w.Disabled {
		return 0
	}
	return w.Review
}

// apply returns the verdict after the rule: v unchanged (and nil) unless v
// is Allow and some candidate within Review has a weak enrolled face
// (Candidate.Quality) or the probe (quality probe) is weak; then Review,
// with those candidates. cands are all candidates within radius, nearest
// first.
func (w WeakFaceRule) apply(v Verdict, probe *embed.Quality, cands []Candidate) (Verdict, []Candidate) {
	if v != Allow || w.Disabled {
		return v, nil
	}
	pw := w.weak(probe)
	var near []Candidate
	for _, c := range cands {
		if c.Distance <= w.Review && (pw || w.weak(&c.Quality)) {
			near = append(near, c)
		}
	}
	if len(near) > 0 {
		return Review, near
	}
	return v, nil
}
