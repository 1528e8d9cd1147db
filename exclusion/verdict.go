package exclusion

import "fmt"

// Verdict is the answer to "may I index or show this image or face?".
//
// The zero value is Unchecked, so a Decision that was never filled in fails
// closed: callers index only on Allow.
type Verdict int

const (
	// Unchecked means the engine could not decide (decode error, limit hit,
	// timeout, cancelled context, embedder or store failure). Do not index.
	Unchecked Verdict = iota
	// Allow means no approved opt-out or removal matches: the image may be
	// indexed and shown.
	Allow
	// Block means an approved opt-out or removal matches: never index or
	// show the image.
	Block
	// Review means a face is too close to an opted-out face to allow and not
	// close enough to block with confidence: do not index; send it to a human.
	Review
)

// String returns "unchecked", "allow", "block" or "review".
func (v Verdict) String() string {
	switch v {
	case Unchecked:
		return "unchecked"
	case Allow:
		return "allow"
	case Block:
		return "block"
	case Review:
		return "review"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// MayIndex reports whether the verdict lets a caller index or show the image:
// true only for Allow.
func (v Verdict) MayIndex() bool { return v == Allow }

// MarshalText encodes the verdict as its String form.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText decodes a verdict from its String form.
func (v *Verdict) UnmarshalText(b []byte) error {
	for _, c := range []Verdict{Unchecked, Allow, Block, Review} {
		if string(b) == c.String() {
			*v = c
			return nil
		}
	}
	return fmt.Errorf("exclusion: unknown verdict %q", b)
}
