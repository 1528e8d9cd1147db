// Package exclusion keeps opted-out faces and removed images out of a face
// search engine: it holds the requests (face opt-outs and DSA image
// removals), runs their review, stores them durably, and answers, for every
// crawled image or search result, "may I index or show this?".
//
// The package has four parts, each in its own files: requests and their
// validation (request.go, validate.go, country.go), the review workflow over
// a Registry (registry.go, enrol.go, confirm.go, thumbnail.go, suspend.go),
// the Store contract that keeps it durable (store.go, feed.go, seal.go,
// keyring.go, auditchain.go), and the Filter that answers (filter.go,
// image.go, batch.go, sweep.go; replica.go for read-only processes). The
// verdict on one face is decided in decide.go, for every caller: the
// Filter's checks, Sweep, and the evaluation harness (exclusion/evaluation)
// that measures it.
//
// # Basics
//
// A Registry holds the requests in a Store: exclusion/boltstore (an
// embedded file, one process) or exclusion/pgstore (PostgreSQL, many
// processes; its change feed lets a Replica in every other process follow
// approvals and withdrawals live). Create makes a new registry; Open opens an existing
// one and refuses an uninitialised or inconsistent store, or an embedder of
// another model than the one the faces were enrolled with (ErrModel), so an
// empty or unreadable registry is an error, never an empty filter.
//
//	st, _ := boltstore.Open("registry.db", boltstore.Config{})
//	reg, err := exclusion.Open(ctx, st, emb, exclusion.DefaultConfig())
//	f, err := exclusion.NewFilter(reg, emb, exclusion.DefaultFilterConfig())
//	if d := f.CheckImageBytes(ctx, body); !d.Verdict.MayIndex() {
//		return // Block, Review and Unchecked all mean "do not index"
//	}
//
// Submit validates a Submission (every bad field is named in a
// *ValidationError, and nothing is stored) and enrols it at once: each photo
// is decoded and hashed (SHA-256 and a 64-bit perceptual hash), and for a
// face opt-out every face is found, described and put through a
// QualityGate whose refusals carry reasons (RefusalNoFace, RefusalTooSmall,
// RefusalTooBlurry, RefusalSeveralFaces). A photo with several usable faces
// enrols only the face picked by box (Photo.Face at submission, or
// Registry.Pick by a reviewer). Image bytes are never stored. The request
// is then pending:
//
//	pending -> approved | rejected | withdrawn;  approved -> withdrawn
//
// Only approved requests block. Approve, Reject, Withdraw, Suspend and
// Resume are durable before they return, write an audit event (who, what,
// when, which request; no biometric data), and change the live filter at
// once. Rejection and withdrawal delete the request's descriptors and image
// hashes. With Config.Confirm, requests wait Unconfirmed for their
// requester's confirmation before review (Registry.Confirm).
// Suspend (a whole request) and SuspendFace (one enrolled face) stop an
// approved request from blocking until a given time without deleting
// anything: a reviewer's answer to a reported false positive while it is
// looked into. The suspension ends by itself at that time (the Filter
// compares it with the registry's clock, Config.Now, at every decision), or
// earlier with Resume.
//
// A Filter answers with a Decision whose Verdict is Allow, Block, Review or
// Unchecked; callers index or show only on Allow:
//
//   - CheckImage / CheckImageBytes: the image's SHA-256 against every
//     approved request's photos, its perceptual hash against image
//     removals' files (so re-encoded and resized copies at new URLs match),
//     then every face in it against the approved faces.
//   - CheckFaces: descriptors a search service already has.
//   - CheckURL: the normalised URL (NormalizeURL) against image removals.
//   - Check and FilterResults: an Item (URL, image or faces) or a page of
//     search results; everything not Allow is dropped and counted.
//   - CheckBatch: a stream of Items, checked several at once within a
//     memory budget, for crawlers.
//   - Sweep: the ids in an existing search index to purge: exactly those
//     whose face CheckFaces would not allow.
//
// # Deciding on a face
//
// Distances are Euclidean between descriptors of one model (not squared).
// A Decider asks the registry's exact index (a Gallery) for every enrolled
// face within the largest distance that can matter, leaves out suspended
// faces, and passes the rest to a Policy, then to the WeakFaceRule. The
// default Policy is a ThresholdPolicy at 0.6, dlib's documented operating
// point: a face within 0.6 of an approved face blocks. A request may carry
// its own Threshold (Candidate.Threshold). The weak-face rule, on by
// default, sends to Review rather than Allow a face the HOG detector barely
// found (in the checked image or in the enrolment photo) when it lies just
// beyond the policy's threshold from an enrolled face. Perceptual hashes of
// image removals match at Hamming distance <= imageutil.DefaultMatchDistance.
// Other policies plug in through Policy, with the optional Calibrator and
// RequestPolicy; exclusion/cohort holds an opt-in cohort-normalised one.
// How well each holds, on which data, is measured by exclusion/evaluation
// and written, with its commands, in exclusion/EVALUATION.md.
//
// Configurations follow one idiom: a Config struct validated by the
// constructor, whose zero fields mean the defaults (DefaultConfig and
// DefaultFilterConfig spell them out); switches that turn a default off
// say so (WeakFaceRule.Disabled, FilterConfig.NoPHash and NoTimeout).
//
// # Caveats
//
//   - Fail closed: a check that cannot finish (decode error, limits,
//     embedder failure, timeout, cancelled context, closed registry, a
//     descriptor that is not finite or of another model) answers Unchecked,
//     the Verdict's zero value, with Decision.Err saying why. Never treat it
//     as Allow.
//   - The live index is exact (index.Flat) and in memory, rebuilt from the
//     store on Open (a Replica with ReplicaConfig.Snapshot loads it from its
//     snapshot file instead); the Filter stores and logs nothing about the
//     faces it checks. By default it stays exact at every size: no
//     approximate index (index.HNSW) answers opt-out checks, since at the
//     decision radius an HNSW graph finds every face within it only when
//     searched so widely that it is slower than the exact scan
//     (index/BENCHMARKS.md). Config.Index.ApproximateAbove lets a graph,
//     built in the background, answer above a size: faster checks that may
//     miss an enrolled face (Registry.IndexStatus reports which answers).
//     A check therefore costs time in proportion to the registry's faces;
//     examples/replicas/README.md measures that cost and the memory per
//     face, and states the largest registry one machine serves.
//   - A Replica's snapshot (ReplicaConfig.Snapshot) holds the live set, the
//     approved faces' descriptors included, in clear (hence not with
//     Encryption): keep it on the replica's own disk with the store's
//     protection. Writing one copies the live set first, descriptors
//     included (transient memory of about the index's size); changes from
//     the feed wait during that copy (checks go on), a pause that grows
//     with the registry, every SnapshotEvery at most
//     (examples/replicas/README.md measures it).
//   - CheckImage looks for faces upright and, when it finds none and
//     unless FilterConfig.UprightOnly, in a copy reduced 4 times and turned
//     by 90, 270 and 180 degrees, since a sideways upload without EXIF
//     orientation hides its faces from the detector. An upright face (or a
//     face the HOG detector finds upside down) ends the search, so a turned
//     face beside an upright one is not looked for, and a turned face under
//     4*MinFaceSize in a large image is missed. The figures behind this
//     choice (what the turned scans catch, what they cost on a crawl mix)
//     are in exclusion/FILTER_BENCH.md.
//   - CheckImage decodes and scans at most 16 megapixels of a JPEG and 8
//     of any other format: a larger image is reduced by an integer factor
//     k (a JPEG by its DCT scaling, others by a k x k box mean), and its
//     faces under k*MinFaceSize are missed (a PNG of 8 to 32 megapixels is
//     scanned at half size, of 32 to 40 at a third).
//   - A check that reaches its deadline (FilterConfig.Timeout, or the
//     caller's context) while its image is still decoding answers Unchecked
//     at once (ErrUnchecked wrapping context.DeadlineExceeded); the decode
//     goes on in the background until it ends, since not every decoder can
//     be interrupted (a 160-byte lossless WebP expands to 40 megapixels for
//     seconds without reading anything). At most 4 such abandoned checks
//     run at once in a process: past that, image checks answer Unchecked
//     without decoding until one ends.
//   - With an embedder that decodes images itself (BytesEmbedder, as
//     embed.Dlib does), JPEGs are decoded by libjpeg-turbo in its workers
//     and the perceptual hash is taken from a DCT-scaled copy; embed's
//     TestLookPHashAcrossDecoders holds such hashes within half the match
//     distance of imageutil's on the shared photos, so stored hashes stay
//     comparable.
//   - Perceptual hashes are matched only for image removals: those of face
//     opt-out photos would match other people's look-alike headshots (the
//     faces themselves block copies of such photos; SHA-256 matches all).
//   - A photo with several usable faces keeps the candidates' descriptors
//     while the request is pending, so a reviewer can pick; any decision
//     deletes those not enrolled.
//   - One Registry owns a store; a Registry in another process does not see
//     its changes until reopened.
//   - Face matching is only as good as the embedder: a fixed threshold
//     misses some matches in profile, low-resolution or occluded faces,
//     may confuse close relatives, and keeps out a growing share of
//     strangers as the registry grows and on crowded populations (see
//     exclusion/EVALUATION.md). The weak-face rule needs the face's
//     detection quality: CheckFaces and Sweep (descriptors only) apply it
//     to weak enrolled faces only.
//   - Review is not Allow: callers must not index a face under review, and
//     someone must look at it.
//   - A suspended request or face blocks nothing until its time: suspend
//     only after a reviewer has looked at the report, and for as short a
//     time as the inquiry needs.
//
// # Security Considerations
//
// Everything the Filter is given is untrusted: image bytes are decoded by
// imageutil within its default limits (CheckImage reads at most 20 MiB),
// and the answer comes by the Filter's timeout even when a decode does
// not (the abandoned decode keeps its memory, bounded by imageutil's
// limits, until it ends; at most 4 at once), faces are found by the
// embedder under the Filter's timeout, and
// descriptors from callers are checked (finite, of the registry's length)
// before they reach the index; a bad input gives Unchecked, never a panic
// or Allow. Submissions are untrusted too: Validate bounds every field and
// normalises URLs and country codes, and checks e-mail addresses and phone numbers. The
// store holds biometric data (descriptors) of people who opted out, and
// their contact details: protect it like the personal data it is. Audit
// notes are free text written by reviewers; never put biometric data in
// them.
//
// Encryption at rest (Config.Encryption): with an operator key, every
// descriptor and image hash reaches the Store only sealed (AES-256-GCM)
// under a random data key of its own request, itself wrapped by the
// operator key and kept in a Keyring apart from the store
// (exclusion/keyfile). Withdrawal and rejection delete the data key
// (crypto-shredding): the request's sealed data in every older copy of the
// store becomes unreadable, even with the operator key, as far as the
// keyring's own copies do not reach back (keep its backups separate and
// short). A store restored from a copy made before a withdrawal does not
// open (ErrKey naming the request), since a missing data key cannot be told
// from a lost keyring, and an accepted opt-out is never dropped silently.
// Metadata (names, contact, URLs, boxes, statuses) and the audit log stay in
// clear. Registry.RotateKey re-wraps every data key under a new operator
// key. The zero value encrypts nothing.
//
// The audit log is a hash chain (ChainAudit, set by the store with each
// event's Seq): Registry.VerifyAudit finds the first edited, removed or
// reordered event. Someone able to rewrite the whole log from an event on
// is caught only by comparing the AuditHead with one recorded elsewhere.
// Audit events hold no biometric data; notes are free text and must not
// either.
package exclusion
