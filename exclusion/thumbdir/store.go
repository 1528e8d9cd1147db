package thumbdir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/faceoptout/faceoptout/exclusion"
)

// MaxFileBytes is the largest thumbnail file Put writes and Get reads.
const MaxFileBytes = 4 << 20

// ErrBadID means a request id is not 1 to 64 ASCII letters and digits.
var ErrBadID = errors.New("thumbdir: bad request id")

// Store is a directory of sealed thumbnails. It is safe for concurrent use
// (each call works on whole files).
type Store struct {
	dir string
}

var _ exclusion.ThumbnailStore = (*Store)(nil)

// New returns the store in dir, creating it (mode 0700) if needed.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("thumbdir: %w", err)
	}
	return &Store{dir: dir}, nil
}

func (s *Store) path(id string) (string, error) {
	if len(id) == 0 || len(id) > 64 {
		return "", ErrBadID
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return "", ErrBadID
		}
	}
	return filepath.Join(s.dir, id+".sealed"), nil
}

// syncDir makes a rename or removal in the directory durable.
func (s *Store) syncDir() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// PutThumbnails writes the sealed thumbnails of a request, replacing any.
func (s *Store) PutThumbnails(ctx context.Context, id string, sealed []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("thumbdir: %w", err)
	}
	p, err := s.path(id)
	if err != nil {
		return err
	}
	if len(sealed) > MaxFileBytes {
		return fmt.Errorf("thumbdir: %d bytes of thumbnails, limit %d", len(sealed), MaxFileBytes)
	}
	f, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("thumbdir: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(sealed)
	if err := errors.Join(werr, f.Chmod(0o600), f.Sync(), f.Close()); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("thumbdir: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("thumbdir: %w", err)
	}
	if err := s.syncDir(); err != nil {
		return fmt.Errorf("thumbdir: %w", err)
	}
	return nil
}

// GetThumbnails reads the sealed thumbnails of a request, or
// exclusion.ErrNotFound.
func (s *Store) GetThumbnails(ctx context.Context, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("thumbdir: %w", err)
	}
	p, err := s.path(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("thumbdir: %s: %w", id, exclusion.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("thumbdir: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("thumbdir: %w", err)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("thumbdir: %s: larger than %d bytes", id, MaxFileBytes)
	}
	return b, nil
}

// DeleteThumbnails removes the thumbnails of a request; nil when it has
// none.
func (s *Store) DeleteThumbnails(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("thumbdir: %w", err)
	}
	p, err := s.path(id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("thumbdir: %w", err)
	}
	if err := s.syncDir(); err != nil {
		return fmt.Errorf("thumbdir: %w", err)
	}
	return nil
}
