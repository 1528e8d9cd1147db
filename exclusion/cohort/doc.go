// Package cohort is an opt-in exclusion.Policy that decides with distances
// normalised against a cohort of background faces: a sample of faces of the
// operator's own index, of people who did not opt out.
//
// Descriptors of some populations are crowded together, so a single global
// threshold cannot serve a crowded and a sparse population at once;
// subtracting a face's local cohort distance does better on crowded data.
// exclusion/EVALUATION.md measures it against the global threshold
// (faceoptout eval), with every figure and command.
//
// # Basics
//
//	pol, err := cohort.New(sample, cohort.DefaultConfig())
//	cfg := exclusion.DefaultFilterConfig()
//	cfg.Policy = pol
//	f, err := exclusion.NewFilter(reg, emb, cfg)
//
// Every face f gets a cohort distance c(f): the mean Euclidean distance from
// f to its K nearest cohort faces. The score of a probe p against an
// enrolled face e at distance d is d - (c(e) + c(p)) / 2. By default the
// photos of a request are fused: the request's score is the mean of its
// best face's score and of the mean score over all its faces. A probe is
// blocked when some candidate (or request) within MaxDistance scores at or
// below Block, sent to review at or below Review, allowed otherwise.
//
// The Policy is an exclusion.Calibrator (c(e) is computed once per enrolled
// face by the Filter, which caches it in memory) and an
// exclusion.RequestPolicy (fused requests see all their faces). Score,
// BlockScore and ReviewScore let the evaluation harness draw DET curves.
//
// # Caveats
//
//   - A cohort from another population than the index's, or one that holds
//     the opted-out people, makes decisions worse than the global threshold.
//   - c(p) scans the whole cohort for every probe face: the cost grows with
//     the cohort's size.
//   - Scores are not distances: Block and Review are in score units, around
//     0, and MaxDistance still caps the Euclidean distance.
//
// # Security Considerations
//
// The cohort holds descriptors of people who did not opt out: it is
// biometric data of the operator's index, kept in memory only, never
// stored by this package.
package cohort
