package registrydir_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/examples/internal/exampletest"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
)

func TestEncryptedDir(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "reg")
	keyPath := filepath.Join(tmp, "operator.key")
	key, err := registrydir.WriteKeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registrydir.WriteKeyFile(keyPath); !errors.Is(err, os.ErrExist) {
		t.Fatalf("WriteKeyFile over a key: %v", err)
	}
	read, err := registrydir.ReadKeyFile(keyPath)
	if err != nil || !bytes.Equal(read, key) {
		t.Fatalf("ReadKeyFile: %x, %v", read, err)
	}
	fake := exampletest.Embedder()
	reg, err := registrydir.Create(ctx, dir, fake, registrydir.WithKey(key))
	if err != nil {
		t.Fatal(err)
	}
	if !reg.Encrypted() {
		t.Fatal("not encrypted")
	}
	exampletest.OptOut(t, reg, 1)
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, registrydir.KeysFile)); err != nil {
		t.Fatal(err)
	}
	wrong := bytes.Repeat([]byte{1}, exclusion.KeySize)
	for _, tc := range []struct {
		name string
		opts []registrydir.Option
		want error
	}{
		{"no key", nil, exclusion.ErrKey},
		{"wrong key", []registrydir.Option{registrydir.WithKey(wrong)}, exclusion.ErrKey},
		{"right key", []registrydir.Option{registrydir.WithKey(key)}, nil},
		{"right key again", []registrydir.Option{registrydir.WithKey(key)}, nil}, // the keyring was released
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, err := registrydir.Open(ctx, dir, fake, tc.opts...)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
			if err == nil {
				if reg.Len() != 1 {
					t.Fatalf("%d faces", reg.Len())
				}
				reg.Close()
			}
		})
	}
	// A rotation through the registry, then the new key alone, or the old
	// one as an old key beside it.
	newKey := bytes.Repeat([]byte{2}, exclusion.KeySize)
	reg, err = registrydir.Open(ctx, dir, fake, registrydir.WithKey(key), registrydir.WithOldKeys(newKey))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := reg.RotateKey(ctx, newKey); err != nil || n != 1 {
		t.Fatalf("RotateKey: %d, %v", n, err)
	}
	reg.Close()
	for _, opts := range [][]registrydir.Option{
		{registrydir.WithKey(newKey)},
		{registrydir.WithKey(newKey), registrydir.WithOldKeys(key)},
	} {
		reg, err := registrydir.Open(ctx, dir, fake, opts...)
		if err != nil {
			t.Fatal(err)
		}
		reg.Close()
	}
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := registrydir.ReadKeyFile(keyPath); err == nil {
		t.Fatal("read a key file others may read")
	}
}
