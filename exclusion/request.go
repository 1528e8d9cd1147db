package exclusion

import (
	"fmt"
	"image"
	"time"

	"github.com/faceoptout/faceoptout/embed"
)

// Kind is the kind of a request.
type Kind string

const (
	// FaceOptOut asks that a person's face is never indexed or shown again,
	// from any site, in any later crawl. It carries photos of the face.
	FaceOptOut Kind = "face"
	// ImageRemoval asks, under the EU Digital Services Act, that specific
	// images (by source URL, and optionally the files) are removed and stay
	// out, re-uploads included.
	ImageRemoval Kind = "image"
)

// Status is a request's place in the review workflow:
//
//	unconfirmed ──> pending ──> approved ──> withdrawn
//	     │             │  └──> rejected
//	     │             └─────────────────> withdrawn
//	     └─────────────────────────────────> withdrawn
//
// Requests start as unconfirmed only when Config.Confirm.Required is set
// (see Registry.Confirm); otherwise as pending. Only approved requests block. Rejection and withdrawal delete the
// request's descriptors and image hashes; the metadata and the audit log stay.
type Status string

const (
	// Pending: submitted (and confirmed, when required), awaiting review.
	Pending Status = "pending"
	// Approved: the request blocks, unless suspended.
	Approved Status = "approved"
	// Rejected: a reviewer refused it; its descriptors are deleted.
	Rejected Status = "rejected"
	// Withdrawn: the requester withdrew it (or it expired unconfirmed);
	// its descriptors are deleted.
	Withdrawn Status = "withdrawn"
)

// Statuses lists every status, in workflow order.
var statuses = [...]Status{Unconfirmed, Pending, Approved, Rejected, Withdrawn}

func (s Status) valid() bool {
	for _, v := range statuses {
		if s == v {
			return true
		}
	}
	return false
}

// next reports whether the workflow allows from -> to.
func (s Status) next(to Status) bool {
	switch s {
	case Unconfirmed:
		return to == Pending || to == Withdrawn
	case Pending:
		return to == Approved || to == Rejected || to == Withdrawn
	case Approved:
		return to == Withdrawn
	}
	return false
}

// Submission is what a requester (or an intake form on their behalf) sends.
// Validate it with Validate; Registry.Submit validates it again.
type Submission struct {
	// Kind is FaceOptOut or ImageRemoval.
	Kind Kind `json:"kind"`
	// Country is the ISO 3166-1 alpha-2 code of the country whose law the
	// request invokes (the requester's residence), e.g. "DE".
	Country string `json:"country"`
	// Reason briefly explains why.
	Reason string `json:"reason"`
	// Name, Email (an address without display name) and Phone (E.164,
	// "+4915123456789") identify the requester.
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
	// Photos are the face photos of a face opt-out (at least one), or the
	// optional image files of an image removal. Their bytes are never
	// stored: only hashes and, for faces, descriptors.
	Photos []Photo `json:"photos,omitempty"`
	// URLs are the source URLs of the images an image removal names (at
	// least one). They are stored normalised (see NormalizeURL).
	URLs []string `json:"urls,omitempty"`
	// Threshold optionally overrides the Euclidean blocking distance for
	// this person's faces (0 < Threshold <= MaxThreshold); 0 keeps the
	// policy's default.
	Threshold float64 `json:"threshold,omitempty"`
}

// Photo is one submitted image.
type Photo struct {
	// Data holds the encoded image (base64 in JSON).
	Data []byte `json:"data"`
	// Face optionally picks the face to enrol when the photo shows several:
	// the face whose box best overlaps Face (intersection over union) is
	// enrolled. Nil means "the only usable face".
	Face *image.Rectangle `json:"face,omitempty"`
}

// Request is a stored request: metadata, status and, per submitted photo,
// its hashes and faces. It never holds image bytes.
type Request struct {
	// ID is the request's random, unguessable id, given to the requester.
	ID string `json:"id"`
	// Version counts the request's stored revisions, from 1; stores use it
	// to refuse lost updates.
	Version uint64 `json:"version"`
	Kind    Kind   `json:"kind"`
	Status  Status `json:"status"`

	Country string `json:"country"`
	Reason  string `json:"reason"`
	Name    string `json:"name"`
	Email   string `json:"email"`
	Phone   string `json:"phone"`

	// Threshold is the per-request blocking distance override; 0 means the
	// policy's default.
	Threshold float64 `json:"threshold,omitempty"`
	// URLs are the normalised source URLs of an image removal.
	URLs []string `json:"urls,omitempty"`
	// Photos hold, per submitted photo, its hashes and faces.
	Photos []PhotoRecord `json:"photos,omitempty"`
	// Thumbnails counts the face thumbnails kept, sealed, in the registry's
	// ThumbnailStore (never in the Store) until the decision; 0 once they
	// are deleted.
	Thumbnails int `json:"thumbnails,omitempty"`

	// Created is when the request was submitted, Updated when it last
	// changed, Decided when it was approved or rejected (zero while pending).
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	Decided time.Time `json:"decided,omitzero"`
	// SuspendedUntil: the approved request blocks nothing before this time
	// (Registry.Suspend); zero when never suspended or resumed.
	SuspendedUntil time.Time `json:"suspended_until,omitzero"`

	// Sealed holds, in a registry with EncryptionConfig.Key, the record's
	// image hashes and descriptors, encrypted (AES-256-GCM) with the
	// request's data key; the stored record then holds them nowhere else.
	// The Registry seals and opens it: requests it returns have Sealed nil.
	Sealed []byte `json:"sealed,omitempty"`

	// Checksum is the SHA-256 (hex) of the record's JSON encoding with an
	// empty Checksum, set by the Registry and checked when it loads.
	Checksum string `json:"checksum"`
}

// PhotoRecord is what is kept of one submitted photo.
type PhotoRecord struct {
	// SHA256 is the hex SHA-256 of the submitted bytes.
	SHA256 string `json:"sha256"`
	// PHash is the 64-bit perceptual hash (imageutil.PHash) of the decoded,
	// oriented image.
	PHash uint64 `json:"phash"`
	// Width and Height are the decoded image's size, after orientation.
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Format string `json:"format,omitempty"`
	// Faces are the faces found in the photo (face opt-outs only), enrolled
	// or refused.
	Faces []FaceRecord `json:"faces,omitempty"`
	// Problem, when set, is why no face of this photo is enrolled yet:
	// RefusalNoFace, or RefusalSeveralFaces (a face must be picked; the
	// candidates are the faces with Refusal RefusalNotPicked).
	Problem Refusal `json:"problem,omitempty"`
}

// FaceRecord is one face found in a submitted photo.
type FaceRecord struct {
	// Box is the face's box in the (oriented) photo.
	Box     image.Rectangle `json:"box"`
	Quality embed.Quality   `json:"quality"`
	// Enrolled reports whether this face blocks once the request is
	// approved.
	Enrolled bool `json:"enrolled"`
	// Refusal says why the face is not enrolled.
	Refusal Refusal `json:"refusal,omitempty"`
	// Descriptors holds the face's descriptor from each model the registry
	// enrols with, keyed by embed.Model ID: kept for enrolled faces and,
	// while the request is pending, for candidates a reviewer may still
	// pick. Deleted on any decision for every face that is not enrolled, and
	// for all faces on rejection or withdrawal.
	Descriptors map[string]embed.Descriptor `json:"descriptors,omitempty"`
	// SuspendedUntil: this enrolled face blocks nothing before this time
	// (Registry.SuspendFace); zero when never suspended or resumed.
	SuspendedUntil time.Time `json:"suspended_until,omitzero"`
}

// Refusal says why a face or photo is not enrolled.
type Refusal string

const (
	// RefusalNoFace: the photo shows no face.
	RefusalNoFace Refusal = "no-face"
	// RefusalSeveralFaces: the photo shows several usable faces and none was
	// picked; pick one with Registry.Pick.
	RefusalSeveralFaces Refusal = "several-faces"
	// RefusalNotPicked: another face of the photo was picked, or none yet.
	RefusalNotPicked Refusal = "not-picked"
	// RefusalTooSmall: the face is smaller than QualityGate.MinSize pixels.
	RefusalTooSmall Refusal = "too-small"
	// RefusalTooBlurry: the face's sharpness is below QualityGate.MinSharpness.
	RefusalTooBlurry Refusal = "too-blurry"
	// RefusalModelMissed: one of the registry's other models found no face
	// at this face's box, so the face could not be described by every model
	// the registry enrols with.
	RefusalModelMissed Refusal = "model-missed"
)

// EnrolledFaces returns the request's enrolled faces.
func (r *Request) EnrolledFaces() []FaceRecord {
	var out []FaceRecord
	for _, p := range r.Photos {
		for _, f := range p.Faces {
			if f.Enrolled {
				out = append(out, f)
			}
		}
	}
	return out
}

// Action names an audit event.
type Action string

const (
	// ActionSubmit: a request was submitted (Registry.Submit).
	ActionSubmit Action = "submit"
	// ActionPick: a reviewer picked the face to enrol (Registry.Pick).
	ActionPick Action = "pick"
	// ActionApprove: a reviewer approved the request.
	ActionApprove Action = "approve"
	// ActionReject: a reviewer rejected the request.
	ActionReject Action = "reject"
	// ActionWithdraw: the request was withdrawn.
	ActionWithdraw Action = "withdraw"
	// ActionSuspend: a reviewer suspended an approved request, or one of
	// its faces, until the time in the note (Registry.Suspend, SuspendFace).
	ActionSuspend Action = "suspend"
	// ActionResume: a reviewer ended a request's suspensions early
	// (Registry.Resume).
	ActionResume Action = "resume"
)

// AuditEvent is one entry of the append-only audit log: what happened to
// which request, when, and by whom. It holds no biometric data.
type AuditEvent struct {
	// Seq orders the log; the store assigns it.
	Seq uint64 `json:"seq"`
	// Time is when it happened, by the registry's clock.
	Time time.Time `json:"time"`
	// Actor names who did it (a reviewer, "intake", the requester).
	Actor string `json:"actor"`
	// RequestID is the request it happened to.
	RequestID string `json:"request_id"`
	// Action says what happened.
	Action Action `json:"action"`
	// From and To are the request's status before and after (equal for
	// a pick, a suspension or a resumption).
	From Status `json:"from,omitempty"`
	To   Status `json:"to"`
	// Note is the actor's free-text comment; never put biometric data in it.
	Note string `json:"note,omitempty"`
	// Hash chains the event to the one before it (see ChainAudit); the
	// store sets it with Seq.
	Hash string `json:"hash,omitempty"`
}

// String formats the event on one line for logs and the operator CLI.
func (e AuditEvent) String() string {
	return fmt.Sprintf("#%d %s %s %s %s->%s by %q", e.Seq, e.Time.Format(time.RFC3339), e.RequestID, e.Action, e.From, e.To, e.Actor)
}
