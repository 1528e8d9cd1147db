// Package exclusion keeps opted-out faces and removed images out of a face
// search engine: it holds the requests (face opt-outs and DSA image
// removals), runs their review, stores them durably, and answers, for every
// crawled image or search result, "may I index or show this?".
//
// # Basics
//
// A Registry holds the requests in a Store (the embedded default is
// exclusion/boltstore). Create makes a new registry; Open opens an existing
// one and refuses an uninitialised or inconsistent store, so an empty or
// unreadable registry is an error, never an empty filter.
//
//	st, _ := boltstore.Open("registry.db", nil)
//	reg, err := exclusion.Open(ctx, st, emb, exclusion.DefaultConfig())
//
// Submit validates a Submission (every bad field is named in a
// *ValidationError, and nothing is stored) and enrols it at once: each photo
// is decoded and hashed (SHA-256 and a 64-bit perceptual hash), and for a
// face opt-out every face is found, described (128-D dlib descriptor) and put
// through a QualityGate whose refusals carry reasons (RefusalNoFace,
// RefusalTooSmall, RefusalTooBlurry, RefusalSeveralFaces). A photo with
// several usable faces enrols only the face picked by box (Photo.Face at
// submission, or Registry.Pick by a reviewer; the best IoU wins). Image bytes
// are never stored. The request is then pending:
//
//	pending -> approved | rejected | withdrawn;  approved -> withdrawn
//
// Only approved requests block. Approve, Reject and Withdraw are durable
// (fsync) before they return, write an audit event (who, what, when, which
// request; no biometric data), and change the live filter at once.
// Rejection and withdrawal delete the request's descriptors and image
// hashes.
//
// A Filter (NewFilter) answers with a Decision whose Verdict is Allow,
// Block, Review or Unchecked; callers index or show only on Allow:
//
//   - CheckImage / CheckImageBytes: the image's SHA-256 against every
//     approved request's photos, its perceptual hash against image
//     removals' files (so re-encoded and resized copies at new URLs match),
//     then every face in it against the approved faces.
//   - CheckFaces: descriptors a search service already has.
//   - CheckURL: the normalised URL (NormalizeURL) against image removals.
//   - Check and FilterResults: an Item (URL, image or faces) or a page of
//     search results; everything not Allow is dropped and counted.
//   - Sweep: the ids in an existing search index to purge for newly
//     approved requests.
//
// # Thresholds
//
// Distances are Euclidean between dlib descriptors (not squared). The
// default Policy is NewThresholdPolicy(0.6, 0.6): a face within 0.6 of an
// approved face blocks; 0.6 is dlib's documented operating point. On top of
// any policy, the default Filter runs a WeakFaceRule: a face the HOG
// detector found with a margin below 0.3 (a turned head, a face cut by the
// photo's edge), in the checked image or in the enrolment photo, goes to
// Review instead of Allow when it is within 0.68 of an enrolled face.
//
// Evidence from this package's own path (imageutil + embed.Dlib), measured
// by the evaluation harness (examples/bench eval; every figure and
// command in exclusion/EVALUATION.md). On faces/bbt (8 Western people x 5
// crops; enrol 4 people x 1 photo, probe their other photos and the other
// people, 20 splits) the global 0.6 alone misses 2.8 % (9/320): all nine
// misses involve stuart5, a three-quarter profile cut at the chin that
// plain go-face does not detect at all and our pipeline finds (HOG margin
// 0.15, the weakest of the 40), 0.61 to 0.65 from three of stuart's other
// photos, while the two closest different people are 0.629 apart; jitter,
// a mirrored copy, the CNN detector or another chip padding do not bring
// it closer. The default Filter (0.6 + the weak-face rule) keeps out all
// 320 mated probes (the nine go to review, 2.8 %) and no stranger (0/400):
// FNMR 0 and FPIR 0. On faces/idols images and idols.json the rule changes
// nothing at the default policy (with CohortPolicy on faces/idols it sends
// the one weak face's checks to review: FPIR 1.2 % -> 3.8 %); there 0.6
// keeps out 99 % of the East-Asian strangers: the threshold is a guess that
// fails some populations.
//
// CohortPolicy (opt-in) normalises distances against a cohort of faces the
// operator samples from their own index and, by default, fuses the several
// photos of a request (CohortConfig.Fuse). On the idols.json open-set
// protocol (40 people x 2 photos enrolled, 40 cohort people, 54 strangers,
// 20 splits) it lowers FNMR at FPIR 5 % from 76.5 % (best global
// threshold) to 56.1 %, and at FPIR 1 % from 88.9 % to 76.0 %; simple
// cohort normalisations reach about 61 % and 81 %. A cohort from another
// population, or one holding the opted-out people, makes it worse. FPIR
// at a fixed threshold grows with the number of enrolled faces (at 0.6: 66 %
// of strangers blocked at 10 k face-like enrolments, 98 % at 1 M). A
// request may carry its own Threshold (stored with it, passed to the Policy
// as Candidate.Threshold); the Filter widens its search radius to the
// largest one. Perceptual hashes of image removals match at Hamming
// distance <= 10 of 64 bits (imageutil.DefaultMatchDistance).
//
// # Caveats
//
//   - Fail closed: a check that cannot finish (decode error, limits,
//     embedder failure, timeout, cancelled context, closed registry) answers
//     Unchecked, the Verdict's zero value. Never treat it as Allow.
//   - The live index is exact (index.Flat) and in memory, rebuilt from the
//     store on Open (about 1 KB per approved face); the Filter stores and
//     logs nothing about the faces it checks.
//   - CheckImage looks for faces upright and, when it finds none and
//     unless FilterConfig.UprightOnly, in a copy reduced 4 times and turned
//     by 90, 270 and 180 degrees, since a sideways upload without EXIF
//     orientation hides its faces from the detector. An upright face (or a
//     face the HOG detector finds upside down) ends the search, so a turned
//     face beside an upright one is not looked for, and a turned face under
//     4*MinFaceSize in a large image is missed. The figures behind this
//     choice (what the turned scans catch, what they cost on a crawl mix)
//     are in exclusion/FILTER_BENCH.md.
//   - CheckImage decodes and scans at most 16 megapixels: a larger image
//     is reduced by an integer factor k (a JPEG by its DCT scaling), and
//     its faces under k*MinFaceSize are missed.
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
//     its changes until reopened. Run the Filter in the process that owns
//     the registry, or use a shared Store and reopen.
//   - Face matching is only as good as the embedder: the default threshold
//     misses some matches in profile, low-resolution or occluded faces, and
//     may confuse close relatives; use Review and Sweep for safety. The
//     weak-face rule needs the face's detection quality: CheckFaces
//     (descriptors only) applies it to weak enrolled faces only.
//   - Review is not Allow: callers must not index a face under review, and
//     someone must look at it (the weak-face rule sends about 3 % of
//     mated probes there on faces/bbt; CohortPolicy far more on crowded
//     populations, see exclusion/EVALUATION.md).
//
// # Security Considerations
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
