package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faceoptout/faceoptout/examples/internal/exampletest"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
)

// TestEncryptedRegistry runs the operator's commands on an encrypted
// registry: init makes the key file, every command needs it, the store
// file holds no photo hash, audit --verify checks the chain, rekey rotates
// the key.
func TestEncryptedRegistry(t *testing.T) {
	o := fakeOperator()
	dir := t.TempDir()
	reg := filepath.Join(dir, "reg")
	key, newKey := filepath.Join(dir, "operator.key"), filepath.Join(dir, "new.key")
	t.Setenv(registrydir.Env, reg)
	t.Setenv(registrydir.KeyFileEnv, "")
	photo := exampletest.Photo(1)
	p1 := writeFile(t, dir, "p1.png", photo)
	form := []string{"--country", "de", "--reason", "Never index my face.", "--name", "Jane Doe", "--email", "jane@example.org", "--phone", "+4915123456789"}

	out, _, err := cli(t, o, "init", "--key-file", key)
	if err != nil || !strings.Contains(out, "new operator key written to "+key) {
		t.Fatalf("init: %v %q", err, out)
	}
	out, _, err = cli(t, o, append([]string{"submit", "--kind", "face", "--photo", p1, "--key-file", key}, form...)...)
	if err != nil {
		t.Fatalf("submit: %v %q", err, out)
	}
	id := submitted(t, out)
	if _, _, err := cli(t, o, "approve", id, "--by", "alice", "--key-file", key); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(t, o, "list"); !errors.Is(err, exclusion.ErrKey) {
		t.Fatalf("list without the key: %v", err)
	}
	t.Setenv(registrydir.KeyFileEnv, key) // the environment names it from here on
	out, _, err = cli(t, o, "audit", "--verify")
	if err != nil || !strings.Contains(out, "audit log verified: 2 events") {
		t.Fatalf("audit --verify: %v %q", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(reg, registrydir.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(photo)
	if bytes.Contains(raw, []byte(hex.EncodeToString(sum[:]))) {
		t.Fatal("the store file holds the photo's SHA-256 in clear")
	}
	if out, _, err := cli(t, o, "show", id); err != nil || !strings.Contains(out, hex.EncodeToString(sum[:])[:16]) {
		t.Fatalf("show with the key: %v %q", err, out)
	}
	out, _, err = cli(t, o, "rekey", "--new-key-file", newKey)
	if err != nil || !strings.Contains(out, "1 data keys re-wrapped") {
		t.Fatalf("rekey: %v %q", err, out)
	}
	if _, _, err := cli(t, o, "list"); !errors.Is(err, exclusion.ErrKey) {
		t.Fatalf("list with the old key after rekey: %v", err)
	}
	if _, _, err := cli(t, o, "list", "--key-file", newKey); err != nil {
		t.Fatalf("list with the new key: %v", err)
	}
}
