// Package faceoptout is the engine that keeps the faces of people who opted
// out of a face search engine from ever being indexed or shown again, and
// keeps images removed under the EU Digital Services Act out of the index.
//
// This root package holds no code: it is the map. The work is done by four
// packages, in the order an image travels through them.
//
// # Basics
//
// An image travels from left to right:
//
//	request photo ─┐                                    ┌─> Registry (exclusion + its Store)
//	               ├─> imageutil ─> embed ─> index ─────┤
//	crawled image ─┘   decode,      faces,    range      └─> Filter verdict:
//	                   orient,      dlib or   search          allow | block | review | unchecked
//	                   limits,      ONNX
//	                   pHash        descriptors
//
// The packages, in that order:
//
//   - [github.com/faceoptout/faceoptout/imageutil] decodes untrusted bytes
//     (JPEG, PNG, GIF, WebP, BMP, TIFF) within memory and size limits, applies
//     EXIF orientation, converts every colour model to 8-bit RGB, resizes, and
//     computes 64-bit perceptual hashes for image-level matching.
//   - [github.com/faceoptout/faceoptout/embed] finds faces and turns each into
//     a descriptor: 128-D from dlib's ResNet (embed.Dlib), or 512-D from an
//     ArcFace-class ONNX model on dlib's boxes (embed/onnx); embed.Model
//     names the model and carries its calibrated threshold. cgo lives only
//     under embed (its internal dlib package and embed/onnx); embed/isolate
//     runs an embedder in supervised worker processes.
//   - [github.com/faceoptout/faceoptout/index] answers "which enrolled
//     descriptors lie within distance r of this one?", exactly (Flat, which
//     exclusion uses) or approximately (HNSW), and persists its contents in
//     a checksummed file.
//   - [github.com/faceoptout/faceoptout/exclusion] holds the requests (face
//     opt-outs and DSA image removals), their review workflow and audit log,
//     the durable registry, and the Filter whose verdicts crawlers and search
//     services obey. Its stores live in subpackages: exclusion/boltstore (an
//     embedded file) and exclusion/pgstore (PostgreSQL, with a change feed
//     that exclusion.Replica follows in other processes); exclusion/keyfile
//     keeps the data keys of an encrypted registry, exclusion/metrics exports
//     Prometheus metrics, exclusion/cohort and exclusion/evaluation hold the
//     scoring research and its harness.
//
// A face opt-out is enrolled when it is submitted: its photos are decoded and
// embedded, and the descriptors (never the image bytes) are stored with the
// request. A reviewer approves or rejects it; once approved, its descriptors
// enter the live index and every later check of an image holding that face
// answers Block. The verdict on a face is decided in one place,
// exclusion/decide.go, for every caller: the Filter's checks, Sweep over an
// existing index, and the evaluation harness that measures it. A DSA removal stores the normalised source URLs and the
// SHA-256 and perceptual hash of the named images, so the same URL, the same
// file and re-encoded or resized copies are blocked.
//
// # Guarantees
//
//   - Fail closed: when an image cannot be checked the verdict is Unchecked,
//     whose zero value is the default, and callers index only on Allow. An
//     empty or unreadable registry is an error, not an empty filter.
//   - An acknowledged request is durable (fsync before the call returns).
//   - Only descriptors, hashes and metadata of requests are stored; nothing
//     about faces met while crawling.
//   - No input makes the engine panic; hostile images give typed errors
//     within bounded memory and time.
//
// # Caveats
//
//   - The face model decides what "the same face" means, and dlib's is weak
//     on East-Asian faces: no global threshold keeps most opted-out faces
//     out while letting most strangers through. The ONNX model separates
//     them far better but not perfectly, and a fixed threshold blocks a
//     growing share of strangers as the registry grows.
//     exclusion/EVALUATION.md gives the measured figures and the commands
//     that produce them. A registry records the model(s) its faces were
//     enrolled with and refuses an embedder of another model.
//   - Review and Unchecked both mean "do not index": a caller that treats
//     anything but Allow as permission breaks the promise.
//   - One process owns a bbolt registry at a time; with PostgreSQL many
//     processes write, and Replicas follow the change feed (a replica past
//     its MaxStaleness answers Unchecked).
//
// The runnable programs under examples/ show the whole loop: a crawler that
// indexes only allowed images, a search service that filters its results,
// the operator CLI, and an intake web app.
package faceoptout
