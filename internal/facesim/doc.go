// Package facesim generates face-like descriptors (128-D dlib ones, or of
// any dimension Fit is given) for benchmarks and evaluations that need
// more people than the shared photos hold.
//
// # Basics
//
// Fit estimates, from real dlib descriptors labelled by person, the mean,
// the between-person covariance (of the per-person means) and the pooled
// within-person covariance. A Model then draws identities (person centres
// from the between-person Gaussian) and samples of each identity (centre
// plus within-person Gaussian noise). Widen scales the between-person
// covariance: the shared idols set is East-Asian only and much tighter
// than a world-wide population, and a factor of about 7 brings
// different-person distances to a median near 0.9 with about 0.1 % of pairs
// within 0.6, while same-person pairs keep a median near 0.38 (see Stats).
//
// Shrink moves both covariances towards isotropic ones of the same trace:
// a fit to fewer people than dimensions (bench filter --embedder onnx fits
// 512-D descriptors of 40 people) has a between-person covariance of low
// rank, whose samples lie near one subspace; shrinking spreads the same
// variance over every dimension and thins the tail of close
// different-person pairs.
//
// LoadIdols reads ../shared/faces/idols/idols.json (base64 of 128
// little-endian float32 per faces[].descriptor, labelled by faces[].idol_id).
// Synthetic returns a model that needs no data file, for unit tests.
//
// # Caveats
//
// Gaussians are a stand-in: real descriptor distributions have heavier
// tails and population structure, so accuracy figures measured on facesim
// data show the mechanism, not field error rates. The idols set holds 134
// people, about as many as dimensions, so the between-person covariance is
// estimated from few points and is regularised with a small ridge.
// Sampling is deterministic for a given *rand.Rand seed and call order.
package facesim
