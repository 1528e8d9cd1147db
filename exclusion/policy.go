package exclusion

import (
	"fmt"

	"github.com/faceoptout/faceoptout/embed"
)

// Default thresholds of DefaultPolicy: Euclidean distances between dlib
// descriptors, dlib's own operating point. How they hold on real data is
// measured in exclusion/EVALUATION.md.
const (
	DefaultBlockThreshold  = embed.DlibThreshold
	DefaultReviewThreshold = embed.DlibThreshold
)

// DefaultPolicy returns dlib's default policy: a ThresholdPolicy at
// DefaultBlockThreshold and DefaultReviewThreshold. A Filter without a
// configured policy uses DefaultPolicyFor its embedder's model instead.
func DefaultPolicy() Policy {
	return &ThresholdPolicy{Block: DefaultBlockThreshold, Review: DefaultReviewThreshold}
}

// DefaultPolicyFor returns the policy a Filter whose embedder is of model m
// uses when none is configured: a ThresholdPolicy blocking within the
// model's calibrated Threshold. A model without a calibrated threshold has
// no default (ErrPolicy): distances of an unknown model mean nothing until
// measured, and a guess would let opted-out faces through.
func DefaultPolicyFor(m embed.Model) (Policy, error) {
	if !(m.Threshold > 0 && m.Threshold <= 2) {
		return nil, fmt.Errorf("%w: model %s has no calibrated threshold: configure FilterConfig.Policy", ErrPolicy, m)
	}
	return &ThresholdPolicy{Block: m.Threshold, Review: m.Threshold}, nil
}

// Candidate is one enrolled face near a probe face, as a Policy sees it.
type Candidate struct {
	// RequestID is the approved request the enrolled face belongs to.
	RequestID string
	// FaceID identifies the enrolled face within its Gallery (the
	// registry's live index: not stable across restarts).
	FaceID uint64
	// Distance is the Euclidean distance between probe and enrolled face.
	Distance float64
	// Threshold is the request's own blocking distance
	// (Submission.Threshold); 0 means "use the policy's".
	Threshold float64
	// Calibration is the value the Policy's Calibrate (see Calibrator)
	// returned for the enrolled face. The Decider computes it the first
	// time the face is a candidate and keeps it in memory (it is not
	// stored); 0 when the policy is not a Calibrator.
	Calibration float64
	// Quality is the enrolled face's quality as measured at enrolment
	// (zero when unknown); the weak-face rule reads it.
	Quality embed.Quality
}

// Calibrator is implemented by policies that need a per-face value of each
// enrolled face (exclusion/cohort: the face's mean distance to its nearest
// cohort faces). The Decider calls Calibrate once per enrolled face, the
// first time that face is a candidate, keeps the value in memory for its
// lifetime (face IDs are never reused) and passes it as
// Candidate.Calibration; a new Filter (for a new cohort) recalibrates.
// Calibrate must be deterministic, safe for concurrent use, and return a
// positive value.
type Calibrator interface {
	Calibrate(face embed.Descriptor) float64
}

// RequestPolicy is implemented by policies that combine all enrolled faces
// of a request (several photos of one person). When WholeRequests returns
// true, the Decider passes, for every request with a face within Radius,
// every face of that request, also those beyond Radius (their Distance is
// exact, their Calibration set as for the others), nearest first; Decide
// must then apply its radius to a request's nearest face.
type RequestPolicy interface {
	WholeRequests() bool
}

// Policy turns the enrolled faces near a probe face into a verdict.
//
// The Decider asks the index for every enrolled face within Radius of the
// probe (or within a request's own Threshold, when larger), nearest first,
// and passes them to Decide. Implementations must be safe for concurrent
// use.
type Policy interface {
	// Radius is the largest distance at which a candidate can change the
	// verdict, in (0, 2].
	Radius() float64
	// Decide returns Block, Review or Allow for one probe face, and the
	// candidates that justify a Block or Review. Any other verdict makes
	// the face Unchecked.
	Decide(probe embed.Descriptor, cands []Candidate) (Verdict, []Candidate)
}

// ThresholdPolicy blocks a probe face within Block of an enrolled face (or
// within the face's own Candidate.Threshold when set), sends it to review
// within Review, and allows it otherwise. The zero value is invalid: use
// NewThresholdPolicy or DefaultPolicy.
type ThresholdPolicy struct {
	// Block is the largest distance that blocks.
	Block float64
	// Review is the largest distance sent to review (>= Block): the
	// policy's Radius.
	Review float64
}

// NewThresholdPolicy returns a ThresholdPolicy, checking 0 < block <= review <= 2.
func NewThresholdPolicy(block, review float64) (*ThresholdPolicy, error) {
	if !(block > 0 && block <= review && review <= 2) {
		return nil, fmt.Errorf("%w: need 0 < block (%g) <= review (%g) <= 2", ErrPolicy, block, review)
	}
	return &ThresholdPolicy{Block: block, Review: review}, nil
}

// Radius implements Policy: Review. Requests with their own larger
// Threshold are found anyway: the Decider widens its search to the largest
// Threshold in the gallery.
func (p *ThresholdPolicy) Radius() float64 { return p.Review }

// Decide implements Policy. It is safe for concurrent use.
func (p *ThresholdPolicy) Decide(_ embed.Descriptor, cands []Candidate) (Verdict, []Candidate) {
	var block, review []Candidate
	for _, c := range cands {
		t := p.Block
		if c.Threshold > 0 {
			t = c.Threshold
		}
		switch {
		case c.Distance <= t:
			block = append(block, c)
		case c.Distance <= p.Review:
			review = append(review, c)
		}
	}
	if len(block) > 0 {
		return Block, block
	}
	if len(review) > 0 {
		return Review, review
	}
	return Allow, nil
}
