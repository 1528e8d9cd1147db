// Package evaluation measures exclusion policies: how many opted-out faces
// slip through (FNMR) and how many strangers are kept out (FPIR), so the
// README's figures can be rerun (examples/bench eval).
//
// # Basics
//
// A Set holds labelled faces: LoadDescriptorFile reads descriptor files in
// the layout of go-face's idols.json; EmbedFolder embeds a folder of images
// through imageutil.Decode and an embed.Embedder (one subfolder per person,
// or a flat folder labelled by file name). Protocol.Partition draws seeded
// open-set splits: enrolled people with k photos, a cohort of background
// people, and strangers. Run scores every probe of every split with a
// Method; PolicyMethod runs an exclusion.Policy exactly as the Filter does:
// the split's enrolled faces go into an exclusion.Gallery and every probe's
// verdict comes from exclusion.Decider.Decide (the call the Filter and
// Sweep make: candidates, whole requests for an exclusion.RequestPolicy,
// calibration, the weak-face rule fed the faces' detection qualities), and
// it records those verdicts. Its score for the DET curve comes from a
// Scorer (cohort.Policy is one; ThresholdMethod scores by the nearest
// enrolled face).
// Research holds the rules measured and not kept (transforms learned on the
// cohort, rank and kNN-vote scores, fusion variants), so that the research
// table of exclusion/EVALUATION.md can be rerun (bench eval
// --research). Scores give FNMR and FPIR at a threshold with Wilson intervals
// (At), FNMR at a target FPIR with a bootstrap over splits (FNMRAtFPIR) and
// the DET curve (DET); WriteMarkdown and WriteDET render them.
// FPIRAtScale measures FPIR of a global threshold against 10 k to 1 M
// enrolled faces drawn from internal/facesim, with the exact index.
//
// # Caveats
//
//   - Splits of one set share people, so probes are not independent: Wilson
//     intervals on pooled probes are optimistic; the bootstrap over splits
//     is the honest interval for operating points.
//   - A mated probe counts as kept out when the policy blocks or reviews it,
//     whichever enrolled person it matched.
//   - The weak-face rule changes verdicts, not scores: DET curves and FNMR
//     at a fixed FPIR are the policy's alone.
//   - Descriptor files carry no detection quality, so the weak-face rule
//     never fires on them.
//   - facesim descriptors are Gaussian: FPIRAtScale shows how FPIR grows
//     with N, not field error rates.
//   - idols.json holds a few descriptors shared by two people, so no policy
//     reaches FPIR 0.1 % on it.
package evaluation
