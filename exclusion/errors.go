package exclusion

import (
	"errors"
	"strings"
)

var (
	// ErrInvalidRequest means a submission failed validation. The error is a
	// *ValidationError naming each bad field; nothing was stored.
	ErrInvalidRequest = errors.New("exclusion: invalid request")
	// ErrNotFound means no request has the given id.
	ErrNotFound = errors.New("exclusion: request not found")
	// ErrExists means a request with that id exists, or a store was already
	// initialised.
	ErrExists = errors.New("exclusion: already exists")
	// ErrConflict means a request changed in the store since it was read
	// (another writer got there first); read it again and retry.
	ErrConflict = errors.New("exclusion: concurrent update")
	// ErrNoRegistry means the store was never initialised (a wrong path, an
	// empty database): create a registry explicitly with Create.
	ErrNoRegistry = errors.New("exclusion: no registry (never created)")
	// ErrCorrupt means the store's contents fail their checks (a record's
	// checksum, the counts): the registry cannot be trusted.
	ErrCorrupt = errors.New("exclusion: corrupt registry")
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("exclusion: closed")
	// ErrTransition means a status change the review workflow does not allow
	// (for example approving a rejected request).
	ErrTransition = errors.New("exclusion: status change not allowed")
	// ErrNoEmbedder means a face opt-out was submitted to a registry opened
	// without an embedder.
	ErrNoEmbedder = errors.New("exclusion: no embedder")
	// ErrNothingToBlock means a request would block nothing if approved: a
	// face opt-out with no enrolled face (pick a face first), or an image
	// removal with no URL and no image.
	ErrNothingToBlock = errors.New("exclusion: request blocks nothing")
	// ErrModel means an embedder's model is not one the registry's faces
	// are enrolled with (their descriptors would not be comparable), or
	// the embedders given cannot enrol every model the registry records.
	ErrModel = errors.New("exclusion: wrong face model")
	// ErrKey means the registry's sealed data cannot be opened with the
	// keys given: a wrong or missing operator key, a keyring that does not
	// belong to the store, or a bad Encryption configuration. The error is
	// a *KeyError when one request is concerned.
	ErrKey = errors.New("exclusion: wrong or missing key")
	// ErrAudit means the audit log's hash chain is broken: an event was
	// edited, removed or reordered. The error is an *AuditError.
	ErrAudit = errors.New("exclusion: audit log fails its hash chain")
	// ErrPolicy reports an invalid policy or weak-face rule configuration.
	ErrPolicy = errors.New("exclusion: invalid policy")
	// ErrDescriptor means a descriptor cannot be compared with the enrolled
	// faces: it is not finite, or it has another length than theirs. The
	// face is Unchecked.
	ErrDescriptor = errors.New("exclusion: unusable descriptor")
	// ErrUnchecked is wrapped by Decision.Err when the error has no more
	// specific cause.
	ErrUnchecked = errors.New("exclusion: not checked")
)

// FieldError is one problem with one field of a submission.
type FieldError struct {
	// Field names the field, with an index for list items: "email",
	// "photos[1]", "urls[0]".
	Field string `json:"field"`
	// Problem says what is wrong, for the requester to read.
	Problem string `json:"problem"`
}

// ValidationError lists every problem found in a submission. It matches
// ErrInvalidRequest with errors.Is.
type ValidationError struct {
	Problems []FieldError `json:"problems"`
}

// Error lists the problems as "field: problem; field: problem".
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidRequest.Error())
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.Field)
		b.WriteString(": ")
		b.WriteString(p.Problem)
	}
	return b.String()
}

// Is reports target == ErrInvalidRequest.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidRequest }

// Fields returns the names of the bad fields, in order.
func (e *ValidationError) Fields() []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.Field
	}
	return out
}

func (e *ValidationError) add(field, problem string) {
	e.Problems = append(e.Problems, FieldError{Field: field, Problem: problem})
}

func (e *ValidationError) err() error {
	if e == nil || len(e.Problems) == 0 {
		return nil
	}
	return e
}
