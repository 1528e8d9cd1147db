package exclusion_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/jpeg"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// memThumbs is an in-memory ThumbnailStore.
type memThumbs struct {
	mu sync.Mutex // guards m
	m  map[string][]byte
}

var _ exclusion.ThumbnailStore = (*memThumbs)(nil)

func (s *memThumbs) PutThumbnails(_ context.Context, id string, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[id] = bytes.Clone(b)
	return nil
}

func (s *memThumbs) GetThumbnails(_ context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[id]
	if !ok {
		return nil, exclusion.ErrNotFound
	}
	return bytes.Clone(b), nil
}

func (s *memThumbs) DeleteThumbnails(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

func (s *memThumbs) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

var thumbKey = bytes.Repeat([]byte{42}, 32)

func TestThumbnailConfig(t *testing.T) {
	tests := []struct {
		name string
		tc   exclusion.ThumbnailConfig
	}{
		{"store without key", exclusion.ThumbnailConfig{Store: &memThumbs{}}},
		{"short key", exclusion.ThumbnailConfig{Store: &memThumbs{}, Key: thumbKey[:16]}},
		{"negative size", exclusion.ThumbnailConfig{Store: &memThumbs{}, Key: thumbKey, Size: -1}},
		{"negative TTL", exclusion.ThumbnailConfig{Store: &memThumbs{}, Key: thumbKey, TTL: -time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := exclusion.DefaultConfig()
			cfg.Thumbnails = tc.tc
			if _, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), &exclusiontest.Embedder{}, cfg); err == nil {
				t.Error("Create accepted the config")
			}
		})
	}
}

// TestThumbnails: each face of a face opt-out gets a small thumbnail, kept
// sealed in the ThumbnailStore until the decision; after approval,
// rejection and withdrawal nothing of it remains, neither in the
// ThumbnailStore nor in any record, audit event or byte of the registry
// file.
func TestThumbnails(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "registry.db")
	st, err := boltstore.Create(dbPath, boltstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := &memThumbs{}
	cfg := exclusion.DefaultConfig()
	cfg.Thumbnails = exclusion.ThumbnailConfig{Store: ts, Key: thumbKey, Size: 64}
	reg, err := exclusion.Create(ctx, st, &exclusiontest.Embedder{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()

	approved := mustSubmit(t, reg, faceSubmission(photo(person(1))))
	group := mustSubmit(t, reg, faceSubmission(photo(person(2), at(person(3), 160, 20))))
	rejected := mustSubmit(t, reg, faceSubmission(photo(person(4))))
	withdrawn := mustSubmit(t, reg, faceSubmission(photo(person(5))))
	removal := mustSubmit(t, reg, removalSubmission("https://example.org/a.jpg"))

	var secrets [][]byte // every thumbnail's JPEG and sealed bytes
	for _, tc := range []struct {
		name string
		req  *exclusion.Request
		n    int
	}{
		{"one face", approved, 1},
		{"group photo", group, 2},
		{"rejected", rejected, 1},
		{"withdrawn", withdrawn, 1},
	} {
		if tc.req.Thumbnails != tc.n {
			t.Errorf("%s: request records %d thumbnails, want %d", tc.name, tc.req.Thumbnails, tc.n)
		}
		th, err := reg.Thumbnails(ctx, tc.req.ID)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(th) != tc.n {
			t.Fatalf("%s: %d thumbnails, want %d", tc.name, len(th), tc.n)
		}
		for i, x := range th {
			img, err := jpeg.Decode(bytes.NewReader(x.JPEG))
			if err != nil {
				t.Fatalf("%s: thumbnail %d: %v", tc.name, i, err)
			}
			if b := img.Bounds(); max(b.Dx(), b.Dy()) != 64 {
				t.Errorf("%s: thumbnail %d is %v, want 64 px on its longer side", tc.name, i, b)
			}
			if x.Photo != 0 || x.Face != i {
				t.Errorf("%s: thumbnail %d is of photo %d face %d", tc.name, i, x.Photo, x.Face)
			}
			secrets = append(secrets, x.JPEG[len(x.JPEG)/2:len(x.JPEG)/2+32])
		}
		sealed, _ := ts.GetThumbnails(ctx, tc.req.ID)
		if bytes.Contains(sealed, th[0].JPEG[:64]) {
			t.Errorf("%s: the stored thumbnails are not encrypted", tc.name)
		}
		secrets = append(secrets, sealed[len(sealed)-32:])
	}
	if removal.Thumbnails != 0 {
		t.Errorf("an image removal keeps %d thumbnails", removal.Thumbnails)
	}
	if _, err := reg.Thumbnails(ctx, removal.ID); !errors.Is(err, exclusion.ErrNotFound) {
		t.Errorf("thumbnails of an image removal: %v, want ErrNotFound", err)
	}

	// Decisions.
	mustApprove(t, reg, approved.ID)
	if _, err := reg.Pick(ctx, group.ID, 0, person(2).Box, "reviewer"); err != nil {
		t.Fatal(err)
	}
	if th, err := reg.Thumbnails(ctx, group.ID); err != nil || len(th) != 2 {
		t.Errorf("a pick deleted the thumbnails: %d, %v", len(th), err)
	}
	mustApprove(t, reg, group.ID)
	if _, err := reg.Reject(ctx, rejected.ID, "reviewer", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Withdraw(ctx, withdrawn.ID, "requester", ""); err != nil {
		t.Fatal(err)
	}

	if n := ts.len(); n != 0 {
		t.Errorf("%d requests still have thumbnails in the store", n)
	}
	for _, id := range []string{approved.ID, group.ID, rejected.ID, withdrawn.ID} {
		if _, err := reg.Thumbnails(ctx, id); !errors.Is(err, exclusion.ErrNotFound) {
			t.Errorf("%s: thumbnails after the decision: %v", id, err)
		}
		var deleted int
		for ev, err := range reg.Audit(ctx, id) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Action == exclusion.ActionDeleteThumbnails {
				deleted++
			}
		}
		if deleted != 1 {
			t.Errorf("%s: %d delete-thumbnails events, want 1", id, deleted)
		}
	}
	// Every record and audit event, then the whole file.
	var all bytes.Buffer
	for req, err := range reg.Requests(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if req.Thumbnails != 0 {
			t.Errorf("%s still records %d thumbnails", req.ID, req.Thumbnails)
		}
		b, _ := json.Marshal(req)
		all.Write(b)
	}
	for ev, err := range reg.Audit(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(ev)
		all.Write(b)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range secrets {
		if bytes.Contains(all.Bytes(), s) || bytes.Contains(db, s) {
			t.Errorf("secret %d (thumbnail or sealed bytes) found in the registry", i)
		}
	}
}

func TestThumbnailsWrongKey(t *testing.T) {
	ts := &memThumbs{}
	st := exclusiontest.NewMemStore()
	cfg := exclusion.DefaultConfig()
	cfg.Thumbnails = exclusion.ThumbnailConfig{Store: ts, Key: thumbKey}
	reg, err := exclusion.Create(ctx, st, &exclusiontest.Embedder{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	req := mustSubmit(t, reg, faceSubmission(photo(person(1))))
	sealed, _ := ts.GetThumbnails(ctx, req.ID)
	// The same sealed bytes under another request id do not open.
	_ = ts.PutThumbnails(ctx, "OTHER", sealed)
	if _, err := reg.Thumbnails(ctx, "OTHER"); !errors.Is(err, exclusion.ErrCorrupt) {
		t.Errorf("sealed thumbnails moved to another id: %v, want ErrCorrupt", err)
	}
	sealed[len(sealed)-1] ^= 1
	_ = ts.PutThumbnails(ctx, req.ID, sealed)
	if _, err := reg.Thumbnails(ctx, req.ID); !errors.Is(err, exclusion.ErrCorrupt) {
		t.Errorf("tampered thumbnails: %v, want ErrCorrupt", err)
	}
}

func TestExpireThumbnails(t *testing.T) {
	ts := &memThumbs{}
	cfg := exclusion.DefaultConfig()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Now = c.now
	cfg.Thumbnails = exclusion.ThumbnailConfig{Store: ts, Key: thumbKey, TTL: 24 * time.Hour}
	reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), &exclusiontest.Embedder{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	old := mustSubmit(t, reg, faceSubmission(photo(person(1))))
	c.t = c.t.Add(48 * time.Hour)
	fresh := mustSubmit(t, reg, faceSubmission(photo(person(2))))
	st, err := reg.Expire(ctx, "expiry")
	if err != nil {
		t.Fatal(err)
	}
	if st.Thumbnails != 1 {
		t.Errorf("deleted the thumbnails of %d requests, want 1", st.Thumbnails)
	}
	if _, err := reg.Thumbnails(ctx, old.ID); !errors.Is(err, exclusion.ErrNotFound) {
		t.Errorf("old request: %v, want ErrNotFound", err)
	}
	if _, err := reg.Thumbnails(ctx, fresh.ID); err != nil {
		t.Errorf("fresh request: %v", err)
	}
	if r, _ := reg.Get(ctx, old.ID); r.Status != exclusion.Pending || r.Thumbnails != 0 {
		t.Errorf("old request: %s with %d thumbnails, want pending with none", r.Status, r.Thumbnails)
	}
}
