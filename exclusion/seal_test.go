package exclusion_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, exclusion.KeySize) }

func sealedConfig(key []byte, ring exclusion.Keyring, old ...[]byte) exclusion.Config {
	cfg := exclusion.DefaultConfig()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Now = c.now
	if key != nil {
		cfg.Encryption = exclusion.EncryptionConfig{Key: key, OldKeys: old, Keyring: ring}
	}
	return cfg
}

// boltRegistry creates (or, when the file exists, opens) a registry in a
// bbolt file.
func boltRegistry(t *testing.T, path string, emb embed.Embedder, cfg exclusion.Config) (*exclusion.Registry, error) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		st, err := boltstore.Create(path, boltstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return exclusion.Create(ctx, st, emb, cfg)
	}
	st, err := boltstore.Open(path, boltstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := exclusion.Open(ctx, st, emb, cfg)
	if err != nil {
		_ = st.Close()
	}
	return reg, err
}

// secrets lists what would give away a request's biometric data in a
// store's bytes: each descriptor as the store's JSON writes it and as raw
// float32s, each image's SHA-256 and perceptual hash.
func secrets(req *exclusion.Request) map[string][]byte {
	out := map[string][]byte{}
	for i, p := range req.Photos {
		out[fmt.Sprintf("photo %d sha256", i)] = []byte(p.SHA256)
		out[fmt.Sprintf("photo %d phash", i)] = []byte(strconv.FormatUint(p.PHash, 10))
		for j, f := range p.Faces {
			for m, d := range f.Descriptors {
				b, _ := json.Marshal(d[:4])
				out[fmt.Sprintf("photo %d face %d model %.8s descriptor (JSON)", i, j, m)] = bytes.Trim(b, "[]")
				var raw []byte
				for _, v := range d[:4] {
					raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
				}
				out[fmt.Sprintf("photo %d face %d model %.8s descriptor (float32)", i, j, m)] = raw
			}
		}
	}
	return out
}

func found(raw []byte, secrets map[string][]byte) []string {
	var out []string
	for name, s := range secrets {
		if bytes.Contains(raw, s) {
			out = append(out, name)
		}
	}
	return out
}

// enrolSample submits and approves a face opt-out of person 5 and an image
// removal with a photo, and submits (pending) a face opt-out of person 6.
func enrolSample(t *testing.T, reg *exclusion.Registry) []*exclusion.Request {
	t.Helper()
	a := mustSubmit(t, reg, faceSubmission(photo(person(5)), photo(at(person(5), 60, 30))))
	mustApprove(t, reg, a.ID)
	rm := removalSubmission("https://example.org/a.jpg")
	rm.Photos = []exclusion.Photo{{Data: photo(person(12))}}
	b := mustSubmit(t, reg, rm)
	mustApprove(t, reg, b.ID)
	c := mustSubmit(t, reg, faceSubmission(photo(person(6))))
	var out []*exclusion.Request
	for _, id := range []string{a.ID, b.ID, c.ID} {
		r, err := reg.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(mustJSON(t, r), []byte(`"sha256":"`)) {
			t.Fatalf("request %s reads back without hashes", id)
		}
		out = append(out, r)
	}
	if len(out[0].EnrolledFaces()) != 2 || out[1].Photos[0].PHash == 0 {
		t.Fatalf("sample requests: %d enrolled faces, phash %x", len(out[0].EnrolledFaces()), out[1].Photos[0].PHash)
	}
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncryptionStoreFile(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	for _, tc := range []struct {
		name    string
		key     []byte
		inClear bool
	}{
		{"zero config stores in clear", nil, true},
		{"operator key seals", testKey(7), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "registry.db")
			ring := exclusiontest.NewKeyring()
			reg, err := boltRegistry(t, path, emb, sealedConfig(tc.key, ring))
			if err != nil {
				t.Fatal(err)
			}
			if reg.Encrypted() == tc.inClear {
				t.Fatalf("Encrypted() = %v", reg.Encrypted())
			}
			reqs := enrolSample(t, reg)
			f := newFilter(t, reg, emb)
			wantVerdict(t, f.CheckImageBytes(ctx, photo(at(person(5), 40, 40))), exclusion.Block, reqs[0].ID)
			if err := reg.Close(); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			total, inClear := 0, 0
			defer func() {
				t.Logf("store file of %d bytes: %d of %d secret patterns found in clear", len(raw), inClear, total)
			}()
			for _, req := range reqs {
				s := secrets(req)
				got := found(raw, s)
				total, inClear = total+len(s), inClear+len(got)
				text := 0 // the JSON store holds text, never raw float32s
				for name := range s {
					if !strings.HasSuffix(name, "(float32)") {
						text++
					}
				}
				if tc.inClear && len(got) != text {
					t.Fatalf("the clear store holds only %v of %d secrets of %s: the search is blind", got, len(s), req.ID)
				}
				if !tc.inClear && len(got) > 0 {
					t.Fatalf("the store file holds in clear: %v", got)
				}
			}
			// Reopened, everything reads back and blocks as before.
			reg, err = boltRegistry(t, path, emb, sealedConfig(tc.key, ring))
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			for _, want := range reqs {
				got, err := reg.Get(ctx, want.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(mustJSON(t, got), mustJSON(t, want)) {
					t.Fatalf("request %s reads back as\n%s\nwant\n%s", want.ID, mustJSON(t, got), mustJSON(t, want))
				}
			}
			if reg.Len() != 2 {
				t.Fatalf("%d faces block, want 2", reg.Len())
			}
			wantVerdict(t, newFilter(t, reg, emb).CheckImageBytes(ctx, photo(at(person(5), 40, 40))), exclusion.Block, reqs[0].ID)
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCryptoShredding(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.db")
	ring := exclusiontest.NewKeyring()
	key := testKey(9)
	reg, err := boltRegistry(t, path, emb, sealedConfig(key, ring))
	if err != nil {
		t.Fatal(err)
	}
	reqs := enrolSample(t, reg)
	gone, kept := reqs[0], reqs[1]
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	copyFile(t, path, backup)
	ringBackup := ring.Clone()

	reg, err = boltRegistry(t, path, emb, sealedConfig(key, ring))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Withdraw(ctx, gone.ID, "requester", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Reject(ctx, reqs[2].ID, "reviewer", ""); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{gone.ID, reqs[2].ID} {
		if _, err := ring.Get(ctx, id); !errors.Is(err, exclusion.ErrNotFound) {
			t.Fatalf("the data key of %s outlives its withdrawal or rejection: %v", id, err)
		}
	}
	if _, err := ring.Get(ctx, kept.ID); err != nil {
		t.Fatalf("the data key of %s: %v", kept.ID, err)
	}
	w, err := reg.Get(ctx, gone.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(found(mustJSON(t, w), secrets(gone))) > 0 {
		t.Fatalf("a withdrawn request keeps its hashes or descriptors: %s", mustJSON(t, w))
	}
	reg.Close()

	// The copy made before the withdrawal, with the operator key and the
	// keyring as it is now: the withdrawn request cannot be opened, and
	// the registry refuses to open rather than leave it out.
	copy2 := filepath.Join(dir, "restore.db")
	copyFile(t, backup, copy2)
	_, err = boltRegistry(t, copy2, emb, sealedConfig(key, ring))
	var ke *exclusion.KeyError
	if !errors.Is(err, exclusion.ErrKey) || !errors.As(err, &ke) || ke.RequestID != gone.ID && ke.RequestID != reqs[2].ID {
		t.Fatalf("opening a copy made before the withdrawal: %v, want a KeyError for %s", err, gone.ID)
	}
	// Nor does a store opened request by request give it back.
	st, err := boltstore.Open(copy2, boltstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := st.Get(ctx, gone.ID)
	st.Close()
	if err != nil || raw.Sealed == nil || len(found(mustJSON(t, raw), secrets(gone))) > 0 {
		t.Fatalf("the copy's record of %s: %v, sealed %d bytes", gone.ID, err, len(raw.Sealed))
	}
	// Only a backup of the keyring from before the withdrawal still opens
	// it: the limit of crypto-shredding, stated in Keyring's documentation.
	copyFile(t, backup, copy2)
	reg, err = boltRegistry(t, copy2, emb, sealedConfig(key, ringBackup))
	if err != nil {
		t.Fatal(err)
	}
	reg.Close()
}

// failingRing fails Put after n successful calls, and Delete always when
// failDelete is set.
type failingRing struct {
	*exclusiontest.Keyring
	puts       int
	failDelete bool
}

var errInjected = errors.New("injected keyring failure")

func (f *failingRing) Put(ctx context.Context, id string, w []byte) error {
	if f.puts <= 0 {
		return errInjected
	}
	f.puts--
	return f.Keyring.Put(ctx, id, w)
}

func (f *failingRing) Delete(ctx context.Context, id string) error {
	if f.failDelete {
		return errInjected
	}
	return f.Keyring.Delete(ctx, id)
}

// keepOpen is a MemStore that registries cannot close, so that tests can
// open it again.
type keepOpen struct{ *exclusiontest.MemStore }

func (keepOpen) Close() error { return nil }

func TestRotateKey(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	st := keepOpen{exclusiontest.NewMemStore()}
	ring := exclusiontest.NewKeyring()
	oldKey, newKey, newer := testKey(1), testKey(2), testKey(3)
	reg, err := exclusion.Create(ctx, st, emb, sealedConfig(oldKey, ring))
	if err != nil {
		t.Fatal(err)
	}
	reqs := enrolSample(t, reg)
	n, err := reg.RotateKey(ctx, newKey)
	if err != nil || n != 3 {
		t.Fatalf("RotateKey: %d, %v; want 3 re-wrapped", n, err)
	}
	// The running registry reads and writes on.
	if _, err := reg.Get(ctx, reqs[2].ID); err != nil {
		t.Fatal(err)
	}
	d := mustSubmit(t, reg, faceSubmission(photo(person(9))))
	mustApprove(t, reg, d.ID)
	reg.Close()

	_, err = exclusion.Open(ctx, st, emb, sealedConfig(oldKey, ring))
	if !errors.Is(err, exclusion.ErrKey) {
		t.Fatalf("opened with the old key after rotation: %v", err)
	}
	reg, err = exclusion.Open(ctx, st, emb, sealedConfig(newKey, ring))
	if err != nil {
		t.Fatal(err)
	}
	if reg.Len() != 3 {
		t.Fatalf("%d faces block after rotation, want 3", reg.Len())
	}
	// An interrupted rotation: two keys re-wrapped, then the keyring fails.
	fr := &failingRing{Keyring: ring, puts: 2}
	reg.Close()
	reg, err = exclusion.Open(ctx, st, emb, sealedConfig(newKey, fr))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := reg.RotateKey(ctx, newer); !errors.Is(err, errInjected) || n != 2 {
		t.Fatalf("interrupted rotation: %d, %v", n, err)
	}
	reg.Close()
	for _, tc := range []struct {
		name string
		key  []byte
		old  [][]byte
		ok   bool
	}{
		{"new key alone", newer, nil, false},
		{"old key alone", newKey, nil, false},
		{"new key with the old", newer, [][]byte{newKey}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, err := exclusion.Open(ctx, st, emb, sealedConfig(tc.key, ring, tc.old...))
			if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, exclusion.ErrKey) {
				t.Fatalf("Open: %v", err)
			}
			if err == nil {
				reg.Close()
			}
		})
	}
	reg, err = exclusion.Open(ctx, st, emb, sealedConfig(newer, ring, newKey))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := reg.RotateKey(ctx, newer); err != nil || n != 2 {
		t.Fatalf("finishing the rotation: %d, %v; want the 2 left", n, err)
	}
	reg.Close()
	reg, err = exclusion.Open(ctx, st, emb, sealedConfig(newer, ring))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if reg.Len() != 3 {
		t.Fatalf("%d faces block, want 3", reg.Len())
	}
}

func TestEncryptionKeys(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	st := keepOpen{exclusiontest.NewMemStore()}
	ring := exclusiontest.NewKeyring()
	reg, err := exclusion.Create(ctx, st, emb, sealedConfig(testKey(4), ring))
	if err != nil {
		t.Fatal(err)
	}
	reqs := enrolSample(t, reg)
	reg.Close()
	for _, tc := range []struct {
		name string
		cfg  exclusion.EncryptionConfig
		want error
	}{
		{"right key", exclusion.EncryptionConfig{Key: testKey(4), Keyring: ring}, nil},
		{"wrong key", exclusion.EncryptionConfig{Key: testKey(5), Keyring: ring}, exclusion.ErrKey},
		{"no key", exclusion.EncryptionConfig{}, exclusion.ErrKey},
		{"empty keyring", exclusion.EncryptionConfig{Key: testKey(4), Keyring: exclusiontest.NewKeyring()}, exclusion.ErrKey},
		{"short key", exclusion.EncryptionConfig{Key: testKey(4)[:16], Keyring: ring}, exclusion.ErrKey},
		{"key without keyring", exclusion.EncryptionConfig{Key: testKey(4)}, exclusion.ErrKey},
		{"keyring without key", exclusion.EncryptionConfig{Keyring: ring}, exclusion.ErrKey},
		{"bad old key", exclusion.EncryptionConfig{Key: testKey(4), OldKeys: [][]byte{{1}}, Keyring: ring}, exclusion.ErrKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := exclusion.DefaultConfig()
			cfg.Encryption = tc.cfg
			reg, err := exclusion.Open(ctx, st, emb, cfg)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
			if err == nil {
				if reg.Len() != 2 {
					t.Fatalf("%d faces", reg.Len())
				}
				reg.Close()
			}
		})
	}
	// A request whose sealed data was tampered with is corrupt, not
	// silently empty.
	reg, err = exclusion.Open(ctx, st, emb, sealedConfig(testKey(4), ring))
	if err != nil {
		t.Fatal(err)
	}
	reg.Close()
	rec, err := st.Get(ctx, reqs[0].ID) // as stored: sealed
	if err != nil || rec.Sealed == nil {
		t.Fatalf("stored record: %v, sealed %d bytes", err, len(rec.Sealed))
	}
	rec.Sealed[len(rec.Sealed)/2] ^= 1
	st.Corrupt(reqs[0].ID, mustJSON(t, rec))
	_, err = exclusion.Open(ctx, st, emb, sealedConfig(testKey(4), ring))
	if !errors.Is(err, exclusion.ErrCorrupt) {
		t.Fatalf("tampered sealed data: %v, want ErrCorrupt", err)
	}
}

func TestShredSweep(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	st := keepOpen{exclusiontest.NewMemStore()}
	ring := &failingRing{Keyring: exclusiontest.NewKeyring(), puts: 100, failDelete: true}
	reg, err := exclusion.Create(ctx, st, emb, sealedConfig(testKey(4), ring))
	if err != nil {
		t.Fatal(err)
	}
	reqs := enrolSample(t, reg)
	if _, err := reg.Withdraw(ctx, reqs[0].ID, "requester", ""); err != nil {
		t.Fatalf("a failed key deletion fails a durable withdrawal: %v", err)
	}
	if _, err := ring.Get(ctx, reqs[0].ID); err != nil {
		t.Fatal("the injected failure kept no key")
	}
	reg.Close()
	ring.failDelete = false
	reg, err = exclusion.Open(ctx, st, emb, sealedConfig(testKey(4), ring))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if _, err := ring.Get(ctx, reqs[0].ID); !errors.Is(err, exclusion.ErrNotFound) {
		t.Fatalf("Open left the withdrawn request's key: %v", err)
	}
	if ids, _ := ring.IDs(ctx); len(ids) != 2 {
		t.Fatalf("keys of %v left, want the 2 others", ids)
	}
}

// TestRotateKeyConcurrent reads and writes while the key rotates (run it
// with -race): every read succeeds, before, during and after.
func TestRotateKeyConcurrent(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	st := keepOpen{exclusiontest.NewMemStore()}
	ring := exclusiontest.NewKeyring()
	reg, err := exclusion.Create(ctx, st, emb, sealedConfig(testKey(1), ring))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	reqs := enrolSample(t, reg)
	done := make(chan struct{})
	errs := make(chan error, 3)
	go func() {
		for {
			select {
			case <-done:
				errs <- nil
				return
			default:
			}
			for _, r := range reqs {
				if _, err := reg.Get(ctx, r.ID); err != nil {
					errs <- err
					return
				}
			}
		}
	}()
	go func() {
		for i := range 5 {
			r, err := reg.Submit(ctx, faceSubmission(photo(person(20+i))), "intake")
			if err != nil {
				errs <- err
				return
			}
			if _, err := reg.Approve(ctx, r.ID, "reviewer", ""); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	for i := range 4 {
		if _, err := reg.RotateKey(ctx, testKey(byte(2+i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	close(done)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	st2, err := exclusion.Open(ctx, st, emb, sealedConfig(testKey(5), ring))
	if err != nil {
		t.Fatal(err)
	}
	if st2.Len() != 7 {
		t.Fatalf("%d faces, want 7", st2.Len())
	}
}
