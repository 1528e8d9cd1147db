package registrydir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/faceoptout/faceoptout/examples/internal/progenv"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/keyfile"
)

// KeysFile is the keyring (exclusion/keyfile) of an encrypted registry
// directory: the wrapped data keys, beside registry.db. Back it up apart
// from registry.db, and keep few, short-lived copies: a copy made before a
// withdrawal can, with the operator key, open that request's descriptors in
// a registry.db copy of the same age.
const KeysFile = "registry.keys"

// KeyFileEnv names the file holding the operator key when a program is
// given no --key-file flag. The programs read it; this package never does.
const KeyFileEnv = "FACEOPTOUT_KEY_FILE"

// Option is an optional setting of Create and Open.
type Option func(*options)

type options struct {
	key    []byte
	old    [][]byte
	base   *exclusion.Config
	approx *int // Index.ApproximateAbove, when set
}

// WithConfig makes cfg, instead of exclusion.DefaultConfig, the registry's
// configuration; its Encryption is replaced by what WithKey and
// WithOldKeys ask for.
func WithConfig(cfg exclusion.Config) Option { return func(o *options) { o.base = &cfg } }

// WithApproximateAbove sets the configuration's Index.ApproximateAbove:
// above n live faces of a model an HNSW graph answers its face searches
// (exclusion.IndexConfig); 0 keeps them exact.
func WithApproximateAbove(n int) Option { return func(o *options) { o.approx = &n } }

// WithKey encrypts the registry's descriptors and image hashes under the
// operator key (exclusion.KeySize bytes; see exclusion.EncryptionConfig):
// Create makes DIR/registry.keys, Open opens it. Nil changes nothing.
func WithKey(key []byte) Option { return func(o *options) { o.key = key } }

// WithOldKeys adds earlier operator keys that only unwrap data keys a key
// rotation has not re-wrapped yet (exclusion.EncryptionConfig.OldKeys).
func WithOldKeys(keys ...[]byte) Option { return func(o *options) { o.old = append(o.old, keys...) } }

// ReadKeyFile reads an operator key file: exclusion.KeySize bytes as hex
// (surrounding white space ignored). A file that others than its owner may
// read or write is refused.
func ReadKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("registrydir: key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("registrydir: key file %s: mode %v, want 0600 or stricter", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registrydir: key file: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != exclusion.KeySize {
		return nil, fmt.Errorf("registrydir: key file %s: want %d hex characters: %w", path, 2*exclusion.KeySize, exclusion.ErrKey)
	}
	return key, nil
}

// WriteKeyFile makes a new operator key file at path (mode 0600) holding a
// random key, and returns the key. It refuses an existing file.
func WriteKeyFile(path string) ([]byte, error) {
	key := make([]byte, exclusion.KeySize)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("registrydir: key file: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("registrydir: key file: %w", err)
	}
	return key, nil
}

// config returns the registry configuration the options ask for in dir,
// making (create) or opening its keyring when a key is given. An encrypted
// directory opened without a key is refused (exclusion.ErrKey).
func config(dir string, create bool, opts []Option) (exclusion.Config, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	cfg := exclusion.DefaultConfig()
	if o.base != nil {
		cfg = *o.base
		cfg.Encryption = exclusion.EncryptionConfig{}
	}
	if o.approx != nil {
		cfg.Index.ApproximateAbove = *o.approx
	}
	kp := filepath.Join(dir, KeysFile)
	if o.key == nil {
		if _, err := os.Stat(kp); err == nil {
			return cfg, fmt.Errorf("registrydir: %s is encrypted (%s): give its operator key (--key-file or $%s): %w", dir, KeysFile, KeyFileEnv, exclusion.ErrKey)
		}
		return cfg, nil
	}
	if IsPostgres(dir) {
		return cfg, fmt.Errorf("registrydir: an operator key needs a registry directory for its keyring, not %s: %w", dir, exclusion.ErrKey)
	}
	open := keyfile.Open
	if create {
		open = keyfile.Create
	}
	ring, err := open(kp)
	if err != nil {
		return cfg, fmt.Errorf("registrydir: %w", err)
	}
	cfg.Encryption = exclusion.EncryptionConfig{Key: o.key, OldKeys: o.old, Keyring: ring}
	return cfg, nil
}

// keyFileFrom returns the key file $FACEOPTOUT_KEY_FILE names, "" if none.
func keyFileFrom(env progenv.Getenv) string {
	if env == nil {
		return ""
	}
	return env(KeyFileEnv)
}

// release closes the keyring of a configuration whose registry did not
// open (the registry closes it otherwise).
func release(cfg exclusion.Config) {
	if k, ok := cfg.Encryption.Keyring.(*keyfile.Keyring); ok {
		_ = k.Close()
	}
}
