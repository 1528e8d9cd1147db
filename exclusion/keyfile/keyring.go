package keyfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/faceoptout/faceoptout/exclusion"
)

// Keyring is an exclusion.Keyring in a file. All methods are safe for
// concurrent use; Close is idempotent and waits for a call in flight.
type Keyring struct {
	path string

	mu     sync.Mutex // guards f, closed and every field of p, and serialises writes to the file
	f      *os.File
	closed bool
	p      *parsed
}

var _ exclusion.Keyring = (*Keyring)(nil)

// Create makes a new, empty keyring file at path (mode 0600) and opens it.
// It fails if the file exists.
func Create(path string) (*Keyring, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keyfile: create: %w", err)
	}
	err = lock(f)
	if err == nil {
		_, err = f.WriteAt(header(), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("keyfile: create %s: %w", path, err)
	}
	_ = f.Close()
	return Open(path)
}

// Open opens the keyring file at path, checking every slot. It fails if
// the file is missing (os.ErrNotExist), damaged (*CorruptError) or open in
// another process (ErrLocked).
func Open(path string) (*Keyring, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("keyfile: open: %w", err)
	}
	fail := func(err error) (*Keyring, error) {
		f.Close()
		return nil, fmt.Errorf("keyfile: open %s: %w", path, err)
	}
	if err := lock(f); err != nil {
		return fail(err)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return fail(err)
	}
	if len(data) > MaxSize {
		return fail(&CorruptError{Offset: MaxSize, Problem: "the file is larger than MaxSize"})
	}
	p, err := parse(data)
	if err != nil {
		return fail(err)
	}
	return &Keyring{path: path, f: f, p: p}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Path returns the file's path.
func (k *Keyring) Path() string { return k.path }

func (k *Keyring) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("keyfile: %w", err)
	}
	if k.closed {
		return exclusion.ErrClosed
	}
	return nil
}

// write puts slot s at off and waits for it to be durable.
func (k *Keyring) write(off int64, s []byte) error {
	if _, err := k.f.WriteAt(s, off); err != nil {
		return fmt.Errorf("keyfile: write: %w", err)
	}
	if err := k.f.Sync(); err != nil {
		return fmt.Errorf("keyfile: sync: %w", err)
	}
	return nil
}

// Put implements exclusion.Keyring: it writes id's slot (in place of its
// old one, else in a free slot, else at the end) and returns once it is
// durable.
func (k *Keyring) Put(ctx context.Context, id string, wrapped []byte) error {
	if err := checkEntry(id, wrapped); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.enter(ctx); err != nil {
		return err
	}
	off, ok := k.p.slots[id]
	fromFree := false
	switch {
	case ok:
	case len(k.p.free) > 0:
		off, fromFree = k.p.free[0], true
	default:
		off = k.p.end
	}
	if err := k.write(off, encodeSlot(id, wrapped)); err != nil {
		// The slot may hold the new key or the old bytes: both are read
		// back as a valid slot or a torn one, never as another id's.
		return err
	}
	if fromFree {
		k.p.free = k.p.free[1:]
	} else if !ok {
		k.p.end += slotSize
	}
	k.p.slots[id], k.p.keys[id] = off, bytes.Clone(wrapped)
	return nil
}

// Get implements exclusion.Keyring.
func (k *Keyring) Get(ctx context.Context, id string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.enter(ctx); err != nil {
		return nil, err
	}
	w, ok := k.p.keys[id]
	if !ok {
		return nil, fmt.Errorf("keyfile: %q: %w", id, exclusion.ErrNotFound)
	}
	return bytes.Clone(w), nil
}

// Delete implements exclusion.Keyring: it overwrites id's slot with zeros
// and returns once that is durable.
func (k *Keyring) Delete(ctx context.Context, id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.enter(ctx); err != nil {
		return err
	}
	off, ok := k.p.slots[id]
	if !ok {
		return nil
	}
	if err := k.write(off, make([]byte, slotSize)); err != nil {
		return err
	}
	clear(k.p.keys[id])
	delete(k.p.slots, id)
	delete(k.p.keys, id)
	i, _ := slices.BinarySearch(k.p.free, off)
	k.p.free = slices.Insert(k.p.free, i, off)
	return nil
}

// IDs implements exclusion.Keyring.
func (k *Keyring) IDs(ctx context.Context) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.enter(ctx); err != nil {
		return nil, err
	}
	return slices.Collect(maps.Keys(k.p.keys)), nil
}

// Len returns the number of keys.
func (k *Keyring) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.p.keys)
}

// Close closes the file. It is idempotent; calls after it return
// exclusion.ErrClosed.
func (k *Keyring) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	k.closed = true
	for _, w := range k.p.keys {
		clear(w)
	}
	if err := k.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("keyfile: close: %w", err)
	}
	return nil
}
