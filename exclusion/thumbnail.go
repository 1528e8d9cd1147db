package exclusion

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"time"

	"github.com/disintegration/imaging"
)

// ActionDeleteThumbnails: a request's face thumbnails were deleted (after
// its decision, or because they were kept for Thumbnails.TTL).
const ActionDeleteThumbnails Action = "delete-thumbnails"

// DefaultThumbnailSize is the side, in pixels, of the box face thumbnails
// are fitted into when ThumbnailConfig.Size is 0.
const DefaultThumbnailSize = 96

// maxThumbnails bounds the thumbnails kept per request.
const maxThumbnails = 32

// ThumbnailStore keeps the sealed (encrypted) face thumbnails of requests
// awaiting a decision, outside the registry's Store, so that deleting them
// deletes them: a Store keeps every revision of a record in its history or
// free pages, a ThumbnailStore removes the one copy it has.
//
// Contract: PutThumbnails replaces any thumbnails of the request;
// GetThumbnails returns ErrNotFound when there are none; DeleteThumbnails
// returns nil when there are none and, on success, no copy remains in the
// store. All methods are safe for concurrent use.
type ThumbnailStore interface {
	PutThumbnails(ctx context.Context, requestID string, sealed []byte) error
	GetThumbnails(ctx context.Context, requestID string) ([]byte, error)
	DeleteThumbnails(ctx context.Context, requestID string) error
}

// ThumbnailConfig says whether and how a registry keeps face thumbnails for
// its reviewers: the zero value keeps none.
type ThumbnailConfig struct {
	// Store keeps the sealed thumbnails; nil keeps none.
	Store ThumbnailStore
	// Key is the AES-256 key (32 bytes) that seals them (AES-GCM, the
	// request id as additional data). Required with Store.
	Key []byte
	// Size is the side of the box a face crop is fitted into, in pixels;
	// 0 means DefaultThumbnailSize.
	Size int
	// TTL is the longest time thumbnails are kept: Registry.Expire deletes
	// older ones even while the request awaits its decision. 0 means until
	// the decision.
	TTL time.Duration
}

func (c ThumbnailConfig) validate() error {
	if c.Size < 0 || c.Size > 512 || c.TTL < 0 {
		return fmt.Errorf("exclusion: invalid thumbnail config: size %d, TTL %v", c.Size, c.TTL)
	}
	if c.Store != nil && len(c.Key) != 32 {
		return fmt.Errorf("exclusion: the thumbnail key has %d bytes, want 32 (AES-256)", len(c.Key))
	}
	return nil
}

func (c ThumbnailConfig) size() int {
	if c.Size == 0 {
		return DefaultThumbnailSize
	}
	return c.Size
}

// Thumbnail is the downscaled crop of one face of a submitted photo, shown
// to the reviewer who decides the request.
type Thumbnail struct {
	// Photo and Face index the face in Request.Photos[Photo].Faces.
	Photo int `json:"photo"`
	Face  int `json:"face"`
	// JPEG is the encoded thumbnail.
	JPEG []byte `json:"jpeg"`
}

// thumbnails crops and downscales every face of a face opt-out's photos.
// Photos that no longer decode are skipped (they were decoded at
// enrolment, so this does not happen).
func thumbnails(sub *Submission, req *Request, size int) []Thumbnail {
	if req.Kind != FaceOptOut {
		return nil
	}
	var out []Thumbnail
	for i := range req.Photos {
		if i >= len(sub.Photos) || len(req.Photos[i].Faces) == 0 {
			continue
		}
		d, err := decodeImage(sub.Photos[i].Data)
		if err != nil {
			continue
		}
		for j, f := range req.Photos[i].Faces {
			if len(out) == maxThumbnails {
				return out
			}
			if b := faceThumbnail(d.img, f.Box, size); b != nil {
				out = append(out, Thumbnail{Photo: i, Face: j, JPEG: b})
			}
		}
	}
	return out
}

// faceThumbnail returns the JPEG of box, widened by a fifth on each side
// and clipped to img, fitted into size x size; nil if nothing is left.
func faceThumbnail(img *image.NRGBA, box image.Rectangle, size int) []byte {
	m := max(box.Dx(), box.Dy()) / 5
	r := box.Inset(-m).Intersect(img.Bounds())
	if r.Empty() {
		return nil
	}
	t := imaging.Fit(imaging.Crop(img, r), size, size, imaging.Lanczos)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, t, &jpeg.Options{Quality: 85}); err != nil {
		return nil
	}
	return b.Bytes()
}

// sealVersion prefixes sealed thumbnails.
const sealVersion = 1

func thumbnailAAD(id string) []byte { return []byte("faceoptout thumbnails v1\x00" + id) }

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealThumbnails encrypts ts for request id: version, nonce, ciphertext.
func sealThumbnails(key []byte, id string, ts []Thumbnail) ([]byte, error) {
	plain, err := json.Marshal(ts)
	if err != nil {
		return nil, err
	}
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	out = aead.Seal(out, out[1:1+aead.NonceSize()], plain, thumbnailAAD(id))
	clear(plain)
	return out, nil
}

// openThumbnails decrypts what sealThumbnails made for request id.
func openThumbnails(key []byte, id string, sealed []byte) ([]Thumbnail, error) {
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	ns := aead.NonceSize()
	if len(sealed) < 1+ns+aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: thumbnails of %q: not sealed by this version", ErrCorrupt, id)
	}
	plain, err := aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], thumbnailAAD(id))
	if err != nil {
		return nil, fmt.Errorf("%w: thumbnails of %q do not open with the key: %w", ErrCorrupt, id, err)
	}
	var ts []Thumbnail
	if err := json.Unmarshal(plain, &ts); err != nil {
		return nil, fmt.Errorf("%w: thumbnails of %q: %w", ErrCorrupt, id, err)
	}
	return ts, nil
}

// beforeInsert readies a new request (its ID set) for the store: it is
// Unconfirmed when confirmation is required, and its thumbnails are made
// and sealed, for putThumbnails once it is stored.
func (r *Registry) beforeInsert(sub *Submission, req *Request) ([]byte, error) {
	if r.cfg.Confirm.Required {
		req.Status = Unconfirmed
	}
	return r.prepareThumbnails(sub, req)
}

// putThumbnails stores the sealed thumbnails of a request just stored. A
// failure leaves the request without thumbnails (Registry.Thumbnails gives
// ErrNotFound, the reviewer sees none); the request stands.
func (r *Registry) putThumbnails(ctx context.Context, req *Request, sealed []byte) {
	if sealed == nil {
		return
	}
	_ = r.cfg.Thumbnails.Store.PutThumbnails(ctx, req.ID, sealed)
}

// prepareThumbnails makes and seals the thumbnails of a new request (its ID
// set) and records their number in it; nil when the registry keeps none.
func (r *Registry) prepareThumbnails(sub *Submission, req *Request) ([]byte, error) {
	tc := r.cfg.Thumbnails
	if tc.Store == nil {
		return nil, nil
	}
	ts := thumbnails(sub, req, tc.size())
	if len(ts) == 0 {
		return nil, nil
	}
	sealed, err := sealThumbnails(tc.Key, req.ID, ts)
	if err != nil {
		return nil, fmt.Errorf("exclusion: sealing thumbnails: %w", err)
	}
	req.Thumbnails = len(ts)
	return sealed, nil
}

// Thumbnails returns the face thumbnails of a request awaiting its
// decision: ErrNotFound (wrapped) when it has none (never had, or deleted),
// ErrCorrupt when they do not open with the configured key. Safe for
// concurrent use.
func (r *Registry) Thumbnails(ctx context.Context, id string) ([]Thumbnail, error) {
	if err := r.usable(); err != nil {
		return nil, err
	}
	tc := r.cfg.Thumbnails
	if tc.Store == nil {
		return nil, fmt.Errorf("exclusion: thumbnails of %q: no thumbnail store: %w", id, ErrNotFound)
	}
	sealed, err := tc.Store.GetThumbnails(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("exclusion: thumbnails of %q: %w", id, err)
	}
	return openThumbnails(tc.Key, id, sealed)
}

// decided reports whether a request's review is over.
func decided(s Status) bool { return s == Approved || s == Rejected || s == Withdrawn }

// dropThumbnailsLocked deletes the thumbnails of request id, if it has
// any, and records it (audit event ActionDeleteThumbnails with note why).
// The caller holds r.wmu.
func (r *Registry) dropThumbnailsLocked(ctx context.Context, id, actor, why string) (*Request, error) {
	cur, err := r.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("exclusion: deleting thumbnails of %q: %w", id, err)
	}
	if err := verify(cur); err != nil {
		return nil, err
	}
	if cur.Thumbnails == 0 {
		return cur, nil
	}
	if st := r.cfg.Thumbnails.Store; st != nil {
		if err := st.DeleteThumbnails(ctx, id); err != nil {
			return nil, fmt.Errorf("exclusion: deleting thumbnails of %q: %w", id, err)
		}
	} else {
		why += " (no thumbnail store configured: delete them where they were kept)"
	}
	next, err := r.store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("exclusion: deleting thumbnails of %q: %w", id, err)
	}
	now := r.now()
	next.Thumbnails = 0
	next.Version = cur.Version + 1
	next.Updated = now
	next.Checksum = checksum(next)
	ev := AuditEvent{Time: now, Actor: actor, RequestID: id, Action: ActionDeleteThumbnails, From: cur.Status, To: cur.Status, Note: why}
	if err := r.store.Update(ctx, next, ev); err != nil {
		return nil, fmt.Errorf("exclusion: deleting thumbnails of %q: %w", id, err)
	}
	return next, nil
}

// afterDecision deletes the thumbnails of a request just decided. A failure
// leaves them for Expire and does not undo the decision. The caller holds
// r.wmu.
func (r *Registry) afterDecision(ctx context.Context, req *Request, actor string) *Request {
	if req.Thumbnails == 0 || !decided(req.Status) {
		return req
	}
	next, err := r.dropThumbnailsLocked(ctx, req.ID, actor, "request "+string(req.Status))
	if err != nil {
		return req
	}
	return next
}

// ExpireStats counts what Expire did.
type ExpireStats struct {
	// Unconfirmed counts requests withdrawn because they were not
	// confirmed within Confirm.Within.
	Unconfirmed int
	// Thumbnails counts requests whose thumbnails were deleted: decided
	// requests whose deletion failed before, and requests whose
	// thumbnails outlived Thumbnails.TTL.
	Thumbnails int
}

// Expire withdraws unconfirmed requests older than Confirm.Within and
// deletes the thumbnails of decided requests (a deletion that failed at the
// decision) and of requests older than Thumbnails.TTL, each audit-logged
// with actor. Run it periodically (an intake service does, every minute).
// Safe for concurrent use.
func (r *Registry) Expire(ctx context.Context, actor string) (ExpireStats, error) {
	var st ExpireStats
	if err := checkActor(actor); err != nil {
		return st, err
	}
	now := r.now()
	type todo struct {
		id              string
		expire, dropTom bool
	}
	var work []todo
	for req, err := range r.Requests(ctx) {
		if err != nil {
			return st, err
		}
		t := todo{id: req.ID}
		age := now.Sub(req.Created)
		t.expire = req.Status == Unconfirmed && r.cfg.Confirm.Within > 0 && age > r.cfg.Confirm.Within
		t.dropTom = req.Thumbnails > 0 && (decided(req.Status) || (r.cfg.Thumbnails.TTL > 0 && age > r.cfg.Thumbnails.TTL))
		if t.expire || t.dropTom {
			work = append(work, t)
		}
	}
	var errs []error
	for _, t := range work {
		if t.expire {
			_, err := r.change(ctx, t.id, actor, "the e-mail address was not confirmed in time", ActionExpire, Withdrawn, func(req *Request) error {
				forget(req, true)
				return nil
			})
			if err != nil && !errors.Is(err, ErrTransition) {
				errs = append(errs, err)
				continue
			}
			if err == nil {
				st.Unconfirmed++
			}
		}
		if t.dropTom || t.expire {
			n, err := r.dropThumbnails(ctx, t.id, actor, "thumbnails expired")
			if err != nil {
				errs = append(errs, err)
			} else if n {
				st.Thumbnails++
			}
		}
	}
	return st, errors.Join(errs...)
}

// dropThumbnails deletes the thumbnails of request id if it still has
// some, reporting whether it did.
func (r *Registry) dropThumbnails(ctx context.Context, id, actor, why string) (bool, error) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if err := r.usable(); err != nil {
		return false, err
	}
	cur, err := r.store.Get(ctx, id)
	if err != nil {
		return false, fmt.Errorf("exclusion: deleting thumbnails of %q: %w", id, err)
	}
	if cur.Thumbnails == 0 {
		return false, nil
	}
	_, err = r.dropThumbnailsLocked(ctx, id, actor, why)
	return err == nil, err
}
