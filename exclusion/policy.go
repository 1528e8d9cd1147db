package exclusion

import (
	"errors"
	"fmt"
	"math"

	"github.com/faceoptout/faceoptout/embed"
)

// Candidate is one enrolled face near a probe face.
type Candidate struct {
	// RequestID is the approved request the enrolled face belongs to.
	RequestID string
	// FaceID identifies the enrolled face within the registry's index.
	FaceID uint64
	// Distance is the Euclidean distance between probe and enrolled face.
	Distance float64
	// Threshold is the enrolled face's own blocking threshold (a per-request
	// override or a calibrated value); 0 means "use the policy's default".
	Threshold float64
	// Calibration is the value the Policy's Calibrate (see Calibrator)
	// returned for the enrolled face when it was enrolled, stored with the
	// face; 0 means "not calibrated", and the policy then uses its
	// population default.
	Calibration float64
}

// Calibrator is implemented by policies that compute a per-face value once,
// at enrolment (CohortPolicy: the face's mean distance to its nearest
// cohort faces). A Filter whose Policy is a Calibrator calls Calibrate once
// per enrolled face, the first time that face is a candidate, keeps the value
// for the Filter's lifetime (face IDs are never reused) and passes it back as
// Candidate.Calibration; a new Filter (for a new cohort) recalibrates.
// Calibrate is deterministic in the cohort and the face, so computing it
// again after a restart equals storing it. Calibrate must be safe for
// concurrent use and return a positive value.
type Calibrator interface {
	Calibrate(face *embed.Descriptor) float64
}

// Scorer is implemented by policies whose Decide thresholds one number per
// probe face: Score returns it (lower means closer to an enrolled face;
// +Inf without candidates), and Decide blocks at Score <= BlockScore and
// sends to review at Score <= ReviewScore. The evaluation harness sweeps it
// to draw DET curves.
type Scorer interface {
	Score(probe *embed.Descriptor, cands []Candidate) float64
	BlockScore() float64
	ReviewScore() float64
}

// Policy turns the enrolled faces near a probe face into a verdict.
//
// The Filter asks the index for every enrolled face within Radius of the
// probe, nearest first, and passes them to Decide. Implementations must be
// safe for concurrent use.
type Policy interface {
	// Radius is the largest distance at which a candidate can change the
	// verdict.
	Radius() float64
	// Decide returns Block, Review or Allow for one probe face, and the
	// candidates that justify a Block or Review.
	Decide(probe *embed.Descriptor, cands []Candidate) (Verdict, []Candidate)
}

// ThresholdPolicy blocks a probe face within Block of an enrolled face (or
// within that face's own Threshold when set), sends it to review within
// Review, and allows it otherwise.
type ThresholdPolicy struct {
	Block  float64
	Review float64
}

// ErrPolicy reports an invalid policy configuration.
var ErrPolicy = errors.New("exclusion: invalid policy")

// NewThresholdPolicy returns a ThresholdPolicy, checking 0 < block <= review <= 2.
func NewThresholdPolicy(block, review float64) (*ThresholdPolicy, error) {
	if !(block > 0 && block <= review && review <= 2) {
		return nil, fmt.Errorf("%w: need 0 < block (%g) <= review (%g) <= 2", ErrPolicy, block, review)
	}
	return &ThresholdPolicy{Block: block, Review: review}, nil
}

// Radius returns the review threshold, or the largest per-face threshold the
// caller may set (2, the largest distance between unit descriptors) if that is larger.
func (p *ThresholdPolicy) Radius() float64 { return p.Review }

// Score implements Scorer: the distance to the nearest candidate, ignoring
// per-face Threshold overrides. It is safe for concurrent use.
func (p *ThresholdPolicy) Score(_ *embed.Descriptor, cands []Candidate) float64 {
	best := math.Inf(1)
	for _, c := range cands {
		best = math.Min(best, c.Distance)
	}
	return best
}

// BlockScore implements Scorer.
func (p *ThresholdPolicy) BlockScore() float64 { return p.Block }

// ReviewScore implements Scorer.
func (p *ThresholdPolicy) ReviewScore() float64 { return p.Review }

// Decide implements Policy. It is safe for concurrent use.
func (p *ThresholdPolicy) Decide(_ *embed.Descriptor, cands []Candidate) (Verdict, []Candidate) {
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
