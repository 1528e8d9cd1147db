package keyfile_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/exclusion/keyfile"
)

// TestRegistry runs an encrypted registry on a bbolt store with its
// keyring file beside it: nothing biometric in the store file, a withdrawn
// request's wrapped key gone from the keyring file, and a copy of the store
// from before the withdrawal that no longer opens with the key.
func TestRegistry(t *testing.T) {
	dir := t.TempDir()
	storePath, ringPath := filepath.Join(dir, "registry.db"), filepath.Join(dir, "registry.keys")
	key := bytes.Repeat([]byte{0x5a}, exclusion.KeySize)
	emb := &exclusiontest.Embedder{}
	open := func(create bool) (*exclusion.Registry, *keyfile.Keyring, error) {
		t.Helper()
		var st *boltstore.Store
		var ring *keyfile.Keyring
		var err error
		if create {
			st, err = boltstore.Create(storePath, boltstore.Config{})
			if err == nil {
				ring, err = keyfile.Create(ringPath)
			}
		} else {
			st, err = boltstore.Open(storePath, boltstore.Config{})
			if err == nil {
				ring, err = keyfile.Open(ringPath)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		cfg := exclusion.DefaultConfig()
		cfg.Encryption = exclusion.EncryptionConfig{Key: key, Keyring: ring}
		mk := exclusion.Open
		if create {
			mk = exclusion.Create
		}
		reg, err := mk(ctx, st, emb, cfg)
		if err != nil {
			st.Close()
			ring.Close()
		}
		return reg, ring, err
	}
	reg, ring, err := open(true)
	if err != nil {
		t.Fatal(err)
	}
	face := exclusiontest.Face{Box: image.Rect(20, 20, 120, 120), Color: exclusiontest.Person(3)}
	req, err := reg.Submit(ctx, &exclusion.Submission{
		Kind: exclusion.FaceOptOut, Country: "DE", Reason: "Please never index my face.",
		Name: "Jane Doe", Email: "jane@example.org", Phone: "+4915123456789",
		Photos: []exclusion.Photo{{Data: exclusiontest.PNG(exclusiontest.Image(200, 200, face))}},
	}, "intake")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Approve(ctx, req.ID, "reviewer", ""); err != nil {
		t.Fatal(err)
	}
	w, err := ring.Get(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	desc := req.Photos[0].Faces[0].Descriptors[emb.Model().ID]
	db, _ := json.Marshal(desc[:3])
	secrets := [][]byte{bytes.Trim(db, "[]"), []byte(req.Photos[0].SHA256)}
	reg.Close()
	if _, err := ring.Get(ctx, req.ID); !errors.Is(err, exclusion.ErrClosed) {
		t.Fatalf("the registry's Close left its keyring open: %v", err)
	}
	raw, err := os.ReadFile(storePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if bytes.Contains(raw, s) {
			t.Fatalf("the store file holds %q in clear", s)
		}
	}
	backup, _ := os.ReadFile(storePath)

	reg, ring, err = open(false)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Len() != 1 {
		t.Fatalf("%d faces block, want 1", reg.Len())
	}
	if _, err := reg.Withdraw(ctx, req.ID, "requester", ""); err != nil {
		t.Fatal(err)
	}
	reg.Close()
	ring.Close()
	if raw, _ := os.ReadFile(ringPath); bytes.Contains(raw, w) || bytes.Contains(raw, []byte(req.ID)) {
		t.Fatal("the keyring file still holds the withdrawn request's key")
	}
	if err := os.WriteFile(storePath, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := open(false); !errors.Is(err, exclusion.ErrKey) {
		t.Fatalf("a store copy from before the withdrawal opened: %v", err)
	}
}
