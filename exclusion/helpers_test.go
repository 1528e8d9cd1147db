package exclusion_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

var ctx = context.Background()

// clock is a test clock that advances a second per reading.
// Its now is safe for concurrent use (concurrent checks read the registry's
// clock); tests that set t directly do so from one goroutine.
type clock struct {
	mu sync.Mutex // guards t in now
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func newRegistry(t *testing.T, emb embed.Embedder) (*exclusion.Registry, *exclusiontest.MemStore) {
	t.Helper()
	st := exclusiontest.NewMemStore()
	cfg := exclusion.DefaultConfig()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Now = c.now
	reg, err := exclusion.Create(ctx, st, emb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	return reg, st
}

func newFilter(t *testing.T, reg *exclusion.Registry, emb embed.Embedder) *exclusion.Filter {
	t.Helper()
	f, err := exclusion.NewFilter(reg, emb, exclusion.DefaultFilterConfig())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func person(i int) exclusiontest.Face {
	return exclusiontest.Face{Box: image.Rect(20, 20, 120, 120), Color: exclusiontest.Person(i)}
}

func at(f exclusiontest.Face, x, y int) exclusiontest.Face {
	f.Box = f.Box.Sub(f.Box.Min).Add(image.Pt(x, y))
	return f
}

// photo returns a PNG with the given faces on a 200x200 (or wider) canvas.
func photo(faces ...exclusiontest.Face) []byte {
	w := 200
	for _, f := range faces {
		w = max(w, f.Box.Max.X+20)
	}
	return exclusiontest.PNG(exclusiontest.Image(w, 200, faces...))
}

func faceSubmission(photos ...[]byte) *exclusion.Submission {
	s := &exclusion.Submission{
		Kind: exclusion.FaceOptOut, Country: "de", Reason: "Please never index my face.",
		Name: "Jane Doe", Email: "jane@example.org", Phone: "+4915123456789",
	}
	for _, p := range photos {
		s.Photos = append(s.Photos, exclusion.Photo{Data: p})
	}
	return s
}

func removalSubmission(urls ...string) *exclusion.Submission {
	return &exclusion.Submission{
		Kind: exclusion.ImageRemoval, Country: "FR", Reason: "DSA notice: this image is mine.",
		Name: "Jean Dupont", Email: "jean@example.fr", Phone: "+33612345678", URLs: urls,
	}
}

func mustSubmit(t *testing.T, reg *exclusion.Registry, s *exclusion.Submission) *exclusion.Request {
	t.Helper()
	r, err := reg.Submit(ctx, s, "intake")
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return r
}

func mustApprove(t *testing.T, reg *exclusion.Registry, id string) {
	t.Helper()
	if _, err := reg.Approve(ctx, id, "reviewer", ""); err != nil {
		t.Fatalf("Approve: %v", err)
	}
}

func wantVerdict(t *testing.T, d exclusion.Decision, want exclusion.Verdict, ids ...string) {
	t.Helper()
	if d.Verdict != want {
		t.Fatalf("verdict %v (err %v), want %v; decision %+v", d.Verdict, d.Err, want, d)
	}
	if len(ids) > 0 && !reflect.DeepEqual(d.RequestIDs, ids) {
		t.Fatalf("request ids %v, want %v", d.RequestIDs, ids)
	}
	if want == exclusion.Unchecked && d.Err == nil {
		t.Fatalf("unchecked without Err")
	}
	if want != exclusion.Unchecked && d.Err != nil {
		t.Fatalf("%v with Err %v", want, d.Err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

func jpegOf(t *testing.T, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
