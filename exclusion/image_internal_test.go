package exclusion

import (
	"context"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/imageutil"
)

// Hooks for the external tests of abandoned image checks (image_test.go).

// SetDecodeCheck replaces the decode of the Filter's own scans (the path of
// an embedder that is not a BytesEmbedder) until the returned function
// restores it. It waits for abandoned checks to end first, so that none
// reads the hook while it changes.
func SetDecodeCheck(t testing.TB, f func(context.Context, []byte, ...imageutil.Option) (*imageutil.Image, error)) (restore func()) {
	t.Helper()
	WaitAbandoned(t)
	old := decodeCheck
	decodeCheck = f
	return func() {
		WaitAbandoned(t)
		decodeCheck = old
	}
}

// AbandonedChecks returns how many abandoned image checks still run.
func AbandonedChecks() int64 { return abandoned.Load() }

// MaxAbandoned is maxAbandoned.
const MaxAbandoned = maxAbandoned

// WaitAbandoned waits until no abandoned image check runs.
func WaitAbandoned(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for abandoned.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d abandoned image checks still run after 5 minutes", abandoned.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
