package exclusion

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"sync"

	"github.com/faceoptout/faceoptout/embed"
)

// KeySize is the size in bytes of an operator key (AES-256).
const KeySize = 32

// EncryptionConfig encrypts the biometric parts of stored requests: every
// face descriptor and every image hash (SHA-256 and perceptual hash) is
// kept in the Store only inside Request.Sealed, sealed with AES-256-GCM
// under a random data key of its own request; the data key is wrapped
// (AES-256-GCM) by the operator key Key and kept in Keyring, never in the
// Store. Withdrawal and rejection delete the data key (crypto-shredding).
// Metadata (status, names, contact, URLs, boxes, quality, times) and the
// audit log stay in clear.
//
// The zero value encrypts nothing: descriptors and hashes are stored in
// clear, as the Store receives them. A registry that holds sealed requests
// does not open without its key (ErrKey).
type EncryptionConfig struct {
	// Key is the operator's key-encryption key: KeySize random bytes, given
	// by the operator (programs read it from a file or the environment; the
	// library never does). Nil turns encryption off.
	Key []byte
	// OldKeys are earlier operator keys, used only to unwrap data keys that
	// a key rotation (Registry.RotateKey) has not re-wrapped yet.
	OldKeys [][]byte
	// Keyring keeps the wrapped data keys; required with Key, and must be
	// nil without it. Like the store, the Registry owns it once Create or
	// Open succeeds, and its Close closes the keyring too when it has a
	// Close method (an io.Closer); on failure the caller closes it.
	Keyring Keyring
}

func (c EncryptionConfig) validate() error {
	if c.Key == nil {
		if c.Keyring != nil || len(c.OldKeys) > 0 {
			return fmt.Errorf("%w: a keyring or old keys without an operator key", ErrKey)
		}
		return nil
	}
	if c.Keyring == nil {
		return fmt.Errorf("%w: an operator key without a keyring", ErrKey)
	}
	for i, k := range append([][]byte{c.Key}, c.OldKeys...) {
		if len(k) != KeySize {
			return fmt.Errorf("%w: operator key %d has %d bytes, want %d", ErrKey, i, len(k), KeySize)
		}
	}
	return nil
}

// KeyError is a request whose sealed data cannot be opened with the keys
// given. It matches ErrKey with errors.Is.
type KeyError struct {
	// RequestID is the request whose data key is missing or fails.
	RequestID string
	// Problem says what is wrong.
	Problem string
}

// Error says which request's key is at fault and why.
func (e *KeyError) Error() string {
	return fmt.Sprintf("%s: request %q: %s", ErrKey, e.RequestID, e.Problem)
}

// Is reports target == ErrKey.
func (e *KeyError) Is(target error) bool { return target == ErrKey }

const (
	wrapVersion   = 1
	kekIDSize     = 8
	dataKeySize   = 32
	sealedVersion = 1
)

// operatorKey is an operator key ready to wrap and unwrap.
type operatorKey struct {
	id   [kekIDSize]byte
	aead cipher.AEAD
}

func newOperatorKey(key []byte) (operatorKey, error) {
	if len(key) != KeySize {
		return operatorKey{}, fmt.Errorf("%w: operator key has %d bytes, want %d", ErrKey, len(key), KeySize)
	}
	a, err := newAESGCM(key)
	if err != nil {
		return operatorKey{}, err
	}
	// The id names the key in each wrapped data key, so that a keyring
	// half-way through a rotation is read with the right key. A keyed hash
	// of 256 random bits reveals nothing usable about them.
	s := sha256.Sum256(append([]byte("faceoptout operator key id\x00"), key...))
	k := operatorKey{aead: a}
	copy(k.id[:], s[:])
	return k, nil
}

func newAESGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return cipher.NewGCM(b)
}

func wrapAAD(id string) []byte { return []byte("faceoptout data key\x00" + id) }

// wrap returns version, key id, nonce and the sealed data key.
func (k operatorKey) wrap(id string, dk []byte) []byte {
	out := make([]byte, 1+kekIDSize+k.aead.NonceSize(), 1+kekIDSize+k.aead.NonceSize()+len(dk)+k.aead.Overhead())
	out[0] = wrapVersion
	copy(out[1:], k.id[:])
	rand.Read(out[1+kekIDSize:])
	return k.aead.Seal(out, out[1+kekIDSize:], dk, wrapAAD(id))
}

// wrappedBy returns the key id of a wrapped data key.
func wrappedBy(w []byte) ([kekIDSize]byte, bool) {
	var id [kekIDSize]byte
	if len(w) < 1+kekIDSize || w[0] != wrapVersion {
		return id, false
	}
	copy(id[:], w[1:])
	return id, true
}

// sealStore seals the biometric parts of requests on their way into a
// Store and opens them on the way out; the Registry puts it in front of
// its store when EncryptionConfig.Key is set. Stats, Init, Audit and Close
// go straight through.
type sealStore struct {
	Store
	ring Keyring

	mu   sync.RWMutex  // guards keys
	keys []operatorKey // keys[0] wraps new data keys; every key unwraps
}

func newSealStore(st Store, c EncryptionConfig) (*sealStore, error) {
	s := &sealStore{Store: st, ring: c.Keyring}
	for _, k := range append([][]byte{c.Key}, c.OldKeys...) {
		ok, err := newOperatorKey(k)
		if err != nil {
			return nil, err
		}
		s.keys = append(s.keys, ok)
	}
	return s, nil
}

// secret is the sealed part of a request, in the order of its photos and
// faces.
type secret struct {
	Photos []secretPhoto `json:"photos"`
}

type secretPhoto struct {
	SHA256 string                        `json:"sha256,omitempty"`
	PHash  uint64                        `json:"phash,omitempty"`
	Faces  []map[string]embed.Descriptor `json:"faces,omitempty"`
}

// hasSecrets reports whether req holds a hash or a descriptor.
func hasSecrets(req *Request) bool {
	for _, p := range req.Photos {
		if p.SHA256 != "" || p.PHash != 0 {
			return true
		}
		for _, f := range p.Faces {
			if len(f.Descriptors) > 0 {
				return true
			}
		}
	}
	return false
}

func sealAAD(id string, version uint64) []byte {
	return []byte("faceoptout request\x00" + id + "\x00" + strconv.FormatUint(version, 10))
}

// sealRequest returns a copy of req without hashes and descriptors, which it
// holds encrypted with dk in Sealed.
func sealRequest(dk []byte, req *Request) (*Request, error) {
	var sec secret
	out := *req
	out.Photos = make([]PhotoRecord, len(req.Photos))
	for i, p := range req.Photos {
		sp := secretPhoto{SHA256: p.SHA256, PHash: p.PHash}
		p.SHA256, p.PHash = "", 0
		p.Faces = slices.Clone(p.Faces)
		for j := range p.Faces {
			sp.Faces = append(sp.Faces, p.Faces[j].Descriptors)
			p.Faces[j].Descriptors = nil
		}
		sec.Photos = append(sec.Photos, sp)
		out.Photos[i] = p
	}
	plain, err := json.Marshal(sec)
	if err != nil {
		return nil, fmt.Errorf("exclusion: sealing request %q: %w", req.ID, err)
	}
	a, err := newAESGCM(dk)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 1+a.NonceSize(), 1+a.NonceSize()+len(plain)+a.Overhead())
	b[0] = sealedVersion
	rand.Read(b[1:])
	out.Sealed = a.Seal(b, b[1:], plain, sealAAD(req.ID, req.Version))
	clear(plain)
	return &out, nil
}

// openRequest puts back into req (in place) what sealRequest took out of it.
func openRequest(dk []byte, req *Request) error {
	bad := func(problem string) error {
		return fmt.Errorf("%w: request %q: sealed data %s", ErrCorrupt, req.ID, problem)
	}
	a, err := newAESGCM(dk)
	if err != nil {
		return err
	}
	ns := a.NonceSize()
	if len(req.Sealed) < 1+ns+a.Overhead() || req.Sealed[0] != sealedVersion {
		return bad("of an unknown format")
	}
	plain, err := a.Open(nil, req.Sealed[1:1+ns], req.Sealed[1+ns:], sealAAD(req.ID, req.Version))
	if err != nil {
		return bad("fail authentication")
	}
	var sec secret
	err = json.Unmarshal(plain, &sec)
	clear(plain)
	if err != nil {
		return bad("do not decode")
	}
	if len(sec.Photos) != len(req.Photos) {
		return bad("do not fit the record")
	}
	for i, sp := range sec.Photos {
		p := &req.Photos[i]
		if len(sp.Faces) != len(p.Faces) {
			return bad("do not fit the record")
		}
		p.SHA256, p.PHash = sp.SHA256, sp.PHash
		for j := range p.Faces {
			p.Faces[j].Descriptors = sp.Faces[j]
		}
	}
	req.Sealed = nil
	return nil
}

// dataKey returns request id's data key from the keyring, or, when create
// is set and it has none, a new one, stored (durably) before it is used.
func (s *sealStore) dataKey(ctx context.Context, id string, create bool) ([]byte, error) {
	w, err := s.ring.Get(ctx, id)
	switch {
	case err == nil:
		return s.unwrap(id, w)
	case !errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("exclusion: keyring: %w", err)
	case !create:
		return nil, &KeyError{RequestID: id, Problem: "the keyring has no data key for it (a keyring of another store, or an older copy)"}
	}
	dk := make([]byte, dataKeySize)
	rand.Read(dk)
	s.mu.RLock()
	w = s.keys[0].wrap(id, dk)
	s.mu.RUnlock()
	if err := s.ring.Put(ctx, id, w); err != nil {
		return nil, fmt.Errorf("exclusion: keyring: %w", err)
	}
	return dk, nil
}

// unwrap opens a wrapped data key with whichever operator key wrapped it.
func (s *sealStore) unwrap(id string, w []byte) ([]byte, error) {
	kid, ok := wrappedBy(w)
	if !ok {
		return nil, &KeyError{RequestID: id, Problem: "its data key is of an unknown format"}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range s.keys {
		if k.id != kid {
			continue
		}
		ns := k.aead.NonceSize()
		if len(w) < 1+kekIDSize+ns {
			break
		}
		dk, err := k.aead.Open(nil, w[1+kekIDSize:1+kekIDSize+ns], w[1+kekIDSize+ns:], wrapAAD(id))
		if err != nil || len(dk) != dataKeySize {
			return nil, &KeyError{RequestID: id, Problem: "its data key fails authentication"}
		}
		return dk, nil
	}
	return nil, &KeyError{RequestID: id, Problem: "its data key is wrapped by an operator key not given"}
}

// put seals req (when it holds anything to seal) for store.
func (s *sealStore) put(ctx context.Context, req *Request) (*Request, error) {
	if req == nil || !hasSecrets(req) {
		return req, nil
	}
	dk, err := s.dataKey(ctx, req.ID, true)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	return sealRequest(dk, req)
}

// get opens req (in place) when it is sealed.
func (s *sealStore) get(ctx context.Context, req *Request) error {
	if req == nil || req.Sealed == nil {
		return nil
	}
	dk, err := s.dataKey(ctx, req.ID, false)
	if err != nil {
		return err
	}
	defer clear(dk)
	return openRequest(dk, req)
}

// shredded reports whether a stored request's data key is no longer
// needed, ever: it is withdrawn or rejected (no workflow step leaves those)
// and holds nothing sealed.
func shredded(req *Request) bool {
	return (req.Status == Withdrawn || req.Status == Rejected) && req.Sealed == nil && !hasSecrets(req)
}

// Insert seals req, creating its data key first. The key stays when the
// insert fails: an error does not prove that nothing was committed (a
// connection lost after COMMIT), and a key without a request unlocks
// nothing.
func (s *sealStore) Insert(ctx context.Context, req *Request, ev AuditEvent) error {
	sr, err := s.put(ctx, req)
	if err != nil {
		return err
	}
	return s.Store.Insert(ctx, sr, ev)
}

// Update seals req with its data key and, once a withdrawal or rejection
// is durable, deletes the key. A failed deletion is not an error of the
// update (which is durable): the key is deleted again when the registry
// next opens or rotates its key.
func (s *sealStore) Update(ctx context.Context, req *Request, ev AuditEvent) error {
	sr, err := s.put(ctx, req)
	if err != nil {
		return err
	}
	if err := s.Store.Update(ctx, sr, ev); err != nil {
		return err
	}
	if shredded(sr) {
		_ = s.ring.Delete(ctx, req.ID)
	}
	return nil
}

// Get opens the stored request.
func (s *sealStore) Get(ctx context.Context, id string) (*Request, error) {
	req, err := s.Store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.get(ctx, req); err != nil {
		return nil, err
	}
	return req, nil
}

// Requests opens every stored request.
func (s *sealStore) Requests(ctx context.Context) iter.Seq2[*Request, error] {
	return func(yield func(*Request, error) bool) {
		for req, err := range s.Store.Requests(ctx) {
			if err == nil {
				err = s.get(ctx, req)
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(req, nil) {
				return
			}
		}
	}
}

// Close closes the store, then the keyring if it is an io.Closer.
func (s *sealStore) Close() error {
	err := s.Store.Close()
	if c, ok := s.ring.(io.Closer); ok {
		err = errors.Join(err, c.Close())
	}
	return err
}

// sweep deletes the data keys of withdrawn and rejected requests that an
// interrupted withdrawal or rejection left in the keyring.
func (s *sealStore) sweep(ctx context.Context) (int, error) {
	ids, err := s.ring.IDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("exclusion: keyring: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	has := make(map[string]bool, len(ids))
	for _, id := range ids {
		has[id] = true
	}
	n := 0
	for req, err := range s.Store.Requests(ctx) {
		if err != nil {
			return n, fmt.Errorf("exclusion: reading registry: %w", err)
		}
		if has[req.ID] && shredded(req) {
			if err := s.ring.Delete(ctx, req.ID); err != nil {
				return n, fmt.Errorf("exclusion: keyring: %w", err)
			}
			n++
		}
	}
	return n, nil
}

// rotate re-wraps every data key under newKey, which from then on wraps new
// ones; the keys before it still unwrap.
func (s *sealStore) rotate(ctx context.Context, newKey []byte) (int, error) {
	nk, err := newOperatorKey(newKey)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	if !slices.ContainsFunc(s.keys, func(k operatorKey) bool { return k.id == nk.id }) {
		s.keys = append(s.keys, nk) // readers meet re-wrapped keys during the rotation
	}
	s.mu.Unlock()
	ids, err := s.ring.IDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("exclusion: keyring: %w", err)
	}
	n := 0
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("exclusion: rotating keys: %w", err)
		}
		w, err := s.ring.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("exclusion: keyring: %w", err)
		}
		if kid, _ := wrappedBy(w); kid == nk.id {
			continue
		}
		dk, err := s.unwrap(id, w)
		if err != nil {
			return n, err
		}
		err = s.ring.Put(ctx, id, nk.wrap(id, dk))
		clear(dk)
		if err != nil {
			return n, fmt.Errorf("exclusion: keyring: %w", err)
		}
		n++
	}
	s.mu.Lock()
	s.keys = slices.DeleteFunc(s.keys, func(k operatorKey) bool { return k.id == nk.id })
	s.keys = slices.Insert(s.keys, 0, nk)
	s.mu.Unlock()
	if _, err := s.sweep(ctx); err != nil {
		return n, err
	}
	return n, nil
}

// RotateKey re-wraps every data key of an encrypted registry under newKey
// (KeySize bytes), which from then on also wraps the keys of new requests;
// it returns how many it re-wrapped. Each data key is replaced durably, one
// at a time, and changes wait until the rotation ends. The sealed records
// in the store do not change.
//
// Procedure: generate the new key; call RotateKey(ctx, newKey) on the
// running registry (or open it with Key: old and call it); once it returns
// nil, restart the programs with Key: newKey and destroy the old key. If a
// rotation is interrupted (error, crash), open with Key: newKey and
// OldKeys: [old] and call RotateKey(ctx, newKey) again: keys already
// re-wrapped are skipped. Until the old key is destroyed, keyring backups
// made before the rotation still open with it.
//
// It returns an error wrapping ErrKey if the registry is not encrypted or
// newKey is not a valid key. Safe for concurrent use.
func (r *Registry) RotateKey(ctx context.Context, newKey []byte) (int, error) {
	s, ok := r.store.(*sealStore)
	if !ok {
		return 0, fmt.Errorf("%w: the registry is not encrypted (no EncryptionConfig.Key)", ErrKey)
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if err := r.usable(); err != nil {
		return 0, err
	}
	return s.rotate(ctx, newKey)
}

// Encrypted reports whether the registry seals descriptors and hashes
// (EncryptionConfig.Key is set). Safe for concurrent use.
func (r *Registry) Encrypted() bool {
	_, ok := r.store.(*sealStore)
	return ok
}
