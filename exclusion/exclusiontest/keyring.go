package exclusiontest

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
)

// Keyring is an in-memory exclusion.Keyring. It is safe for concurrent use
// and keeps copies. It is not durable.
type Keyring struct {
	mu   sync.Mutex // guards keys
	keys map[string][]byte
}

var _ exclusion.Keyring = (*Keyring)(nil)

// NewKeyring returns an empty Keyring.
func NewKeyring() *Keyring { return &Keyring{keys: map[string][]byte{}} }

// Put implements exclusion.Keyring.
func (k *Keyring) Put(ctx context.Context, id string, wrapped []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[id] = bytes.Clone(wrapped)
	return nil
}

// Get implements exclusion.Keyring.
func (k *Keyring) Get(ctx context.Context, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	w, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("keyring: %q: %w", id, exclusion.ErrNotFound)
	}
	return bytes.Clone(w), nil
}

// Delete implements exclusion.Keyring.
func (k *Keyring) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.keys[id])
	delete(k.keys, id)
	return nil
}

// IDs implements exclusion.Keyring.
func (k *Keyring) IDs(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Collect(maps.Keys(k.keys)), nil
}

// Clone returns a copy of the keyring, as a backup would hold it.
func (k *Keyring) Clone() *Keyring {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := NewKeyring()
	for id, w := range k.keys {
		c.keys[id] = bytes.Clone(w)
	}
	return c
}

// TestKeyring runs the exclusion.Keyring contract (all but durability and
// erasure, which depend on the storage) against keyrings made by open,
// which must return a new, empty keyring for each call; reopen, when not
// nil, closes a keyring and opens it again from its storage.
func TestKeyring(t *testing.T, open func(t *testing.T) exclusion.Keyring, reopen func(t *testing.T, k exclusion.Keyring) exclusion.Keyring) {
	t.Helper()
	ctx := context.Background()
	t.Run("put get delete", func(t *testing.T) {
		k := open(t)
		_, err := k.Get(ctx, "a")
		is(t, err, exclusion.ErrNotFound)
		must(t, k.Delete(ctx, "a"))
		w := []byte("wrapped key of a, 69 bytes or so.....................................")
		must(t, k.Put(ctx, "a", w))
		must(t, k.Put(ctx, "b", []byte("b")))
		got, err := k.Get(ctx, "a")
		must(t, err)
		eq(t, w, got)
		got[0] ^= 1
		again, err := k.Get(ctx, "a")
		must(t, err)
		eq(t, w, again, "Get returns a copy")
		must(t, k.Put(ctx, "a", []byte("replaced")))
		got, err = k.Get(ctx, "a")
		must(t, err)
		eq(t, []byte("replaced"), got)
		ids, err := k.IDs(ctx)
		must(t, err)
		slices.Sort(ids)
		eq(t, []string{"a", "b"}, ids)
		must(t, k.Delete(ctx, "a"))
		_, err = k.Get(ctx, "a")
		is(t, err, exclusion.ErrNotFound)
		ids, err = k.IDs(ctx)
		must(t, err)
		eq(t, []string{"b"}, ids)
	})
	if reopen == nil {
		return
	}
	t.Run("reopen", func(t *testing.T) {
		k := open(t)
		for i := range 50 {
			must(t, k.Put(ctx, fmt.Sprintf("id-%02d", i), []byte(fmt.Sprintf("key %d", i))))
		}
		for i := range 50 {
			if i%3 == 0 {
				must(t, k.Delete(ctx, fmt.Sprintf("id-%02d", i)))
			}
		}
		must(t, k.Put(ctx, "id-01", []byte("replaced")))
		k = reopen(t, k)
		ids, err := k.IDs(ctx)
		must(t, err)
		eq(t, 33, len(ids))
		for i := range 50 {
			got, err := k.Get(ctx, fmt.Sprintf("id-%02d", i))
			switch {
			case i%3 == 0:
				is(t, err, exclusion.ErrNotFound)
			case i == 1:
				must(t, err)
				eq(t, []byte("replaced"), got)
			default:
				must(t, err)
				eq(t, []byte(fmt.Sprintf("key %d", i)), got)
			}
		}
	})
}
