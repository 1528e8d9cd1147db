package exclusion

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/faceoptout/faceoptout/embed"
)

// A replica snapshot file is:
//
//	magic "FOREPSN1" | payload length (8 bytes, big endian) | payload | SHA-256 of magic, length and payload
//
// where the payload is the gob encoding of a snapshot: the feed sequence
// number it includes, the registry it belongs to (creation time and
// models) and every approved request. Anything that does not check is
// damage: the file is ignored and the replica loads from the store.
const snapshotMagic = "FOREPSN1"

// maxSnapshot bounds the payload a snapshot file may claim (64 GiB).
const maxSnapshot = 64 << 30

type snapshot struct {
	Seq      uint64
	Created  time.Time
	Models   []embed.Model
	Requests []*Request
}

// writeSnapshot writes s to path atomically: a temporary file in the same
// directory, synced, renamed over path, and the directory synced.
func writeSnapshot(path string, s *snapshot) error {
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(s); err != nil {
		return fmt.Errorf("exclusion: snapshot: %w", err)
	}
	head := make([]byte, len(snapshotMagic)+8)
	copy(head, snapshotMagic)
	binary.BigEndian.PutUint64(head[len(snapshotMagic):], uint64(payload.Len()))
	h := sha256.New()
	h.Write(head)
	h.Write(payload.Bytes())
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".snapshot-*")
	if err != nil {
		return fmt.Errorf("exclusion: snapshot: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(head)
	if werr == nil {
		_, werr = f.Write(payload.Bytes())
	}
	if werr == nil {
		_, werr = f.Write(h.Sum(nil))
	}
	if err := errors.Join(werr, f.Chmod(0o600), f.Sync(), f.Close()); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("exclusion: snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("exclusion: snapshot: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("exclusion: snapshot: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("exclusion: snapshot: %w", err)
	}
	return nil
}

// readSnapshot reads and checks a snapshot file. Any damage is an error
// wrapping ErrCorrupt; a missing file wraps os.ErrNotExist.
func readSnapshot(path string) (*snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("exclusion: snapshot: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(snapshotMagic)+8)
	if _, err := io.ReadFull(f, head); err != nil || string(head[:len(snapshotMagic)]) != snapshotMagic {
		return nil, fmt.Errorf("%w: snapshot %s: not a snapshot (%v)", ErrCorrupt, path, err)
	}
	n := binary.BigEndian.Uint64(head[len(snapshotMagic):])
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("exclusion: snapshot: %w", err)
	}
	if n > maxSnapshot || uint64(fi.Size()) != uint64(len(head))+n+sha256.Size {
		return nil, fmt.Errorf("%w: snapshot %s: %d bytes, its header says %d of payload", ErrCorrupt, path, fi.Size(), n)
	}
	payload := make([]byte, n)
	sum := make([]byte, sha256.Size)
	if _, err := io.ReadFull(f, payload); err != nil {
		return nil, fmt.Errorf("%w: snapshot %s: %v", ErrCorrupt, path, err)
	}
	if _, err := io.ReadFull(f, sum); err != nil {
		return nil, fmt.Errorf("%w: snapshot %s: %v", ErrCorrupt, path, err)
	}
	h := sha256.New()
	h.Write(head)
	h.Write(payload)
	if !bytes.Equal(h.Sum(nil), sum) {
		return nil, fmt.Errorf("%w: snapshot %s fails its checksum", ErrCorrupt, path)
	}
	s := new(snapshot)
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(s); err != nil {
		return nil, fmt.Errorf("%w: snapshot %s: %v", ErrCorrupt, path, err)
	}
	for _, r := range s.Requests {
		if r == nil || r.Status != Approved {
			return nil, fmt.Errorf("%w: snapshot %s holds a request that is not approved", ErrCorrupt, path)
		}
	}
	return s, nil
}

// sameRegistry reports whether a snapshot belongs to the registry whose
// stats are st.
func (s *snapshot) sameRegistry(st Stats) bool {
	return s.Created.Equal(st.Created) && slices.Equal(s.Models, st.Models)
}
