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
//	request photo ─┐                                   ┌─> Registry (exclusion + its Store)
//	               ├─> imageutil ─> embed ─> index ────┤
//	crawled image ─┘   decode,      faces,    range     └─> Filter verdict:
//	                   orient,      128-D     search         allow | block | review | unchecked
//	                   limits,      dlib
//	                   pHash        descriptors
//
// The packages, in that order:
//
//   - [github.com/faceoptout/faceoptout/imageutil] decodes untrusted bytes
//     (JPEG, PNG, GIF, WebP, BMP, TIFF) within memory and size limits, applies
//     EXIF orientation, converts every colour model to 8-bit RGB, resizes, and
//     computes 64-bit perceptual hashes for image-level matching.
//   - [github.com/faceoptout/faceoptout/embed] finds faces and turns each into
//     a 128-D dlib ResNet descriptor. All cgo lives in its internal package.
//   - [github.com/faceoptout/faceoptout/index] answers "which enrolled
//     descriptors lie within distance r of this one?", exactly (Flat) or
//     approximately (HNSW), and persists its contents in a checksummed file.
//   - [github.com/faceoptout/faceoptout/exclusion] holds the requests (face
//     opt-outs and DSA image removals), their review workflow and audit log,
//     the durable registry, and the Filter whose verdicts crawlers and search
//     services obey.
//
// A face opt-out is enrolled when it is submitted: its photos are decoded and
// embedded, and the descriptors (never the image bytes) are stored with the
// request. A reviewer approves or rejects it; once approved, its descriptors
// enter the live index and every later check of an image holding that face
// answers Block. A DSA removal stores the normalised source URLs and the
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
//   - The dlib model decides what "the same face" means, and it is weak on
//     some populations: on East-Asian faces (idols.json) a global threshold
//     low enough to block only 5 % of strangers lets 76.5 % of opted-out
//     faces through (59.6 % with the opt-in CohortPolicy), and the default
//     0.6 blocks 99.9 % of strangers. The default threshold (0.6)
//     blocks a growing share of strangers as the registry grows. README.md
//     and exclusion/EVALUATION.md give the measured figures; operators who
//     need near-zero misses at scale need a stronger embedder.
//   - Review and Unchecked both mean "do not index": a caller that treats
//     anything but Allow as permission breaks the promise.
//   - One process owns a registry's store at a time; other processes see
//     its changes when they reopen it.
//
// The runnable programs under examples/ show the whole loop: a crawler that
// indexes only allowed images, a search service that filters its results,
// the operator CLI, and an intake web app.
package faceoptout
