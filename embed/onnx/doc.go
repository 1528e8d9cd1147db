// Package onnx is a face embedder for ArcFace-style ONNX models, beside
// embed.Dlib: the same faces found, described by a stronger model.
//
// # Basics
//
// New(DefaultConfig()) gives an Embedder that implements embed.Embedder:
//
//  1. detection is embed.Dlib's HOG scan through embed.Locator, with the
//     same MinFaceSize semantics, so the boxes are the dlib embedder's;
//  2. five landmarks (eye centres, nose tip, mouth corners) come from a
//     68-point ONNX landmark model (ONNX68, the default, fr_landmark.onnx),
//     from dlib's 68-point predictor (Dlib68, from Debian's libdlib-data)
//     or from the mean of both (Mean68); by default the landmark model
//     sees the detector's box, LandmarkModelConfig.Crop and Refine place
//     its crop otherwise, and Config.FivePoints chooses which of the 68
//     points make the five;
//  3. a least-squares similarity transform (rotation, uniform scale,
//     translation) maps them onto the model's template (ArcFaceTemplate
//     for 112x112), and the chip is sampled with exact bilinear
//     interpolation (black outside the image, or its edge repeated with
//     Config.EdgeFill), averaging several samples
//     per chip pixel when the face is larger than the chip;
//  4. the model (ONNX Runtime through github.com/yalue/onnxruntime_go, one
//     session per worker, one thread each, at the graph optimisation level
//     ModelConfig.Optimization names, with denormal numbers flushed to
//     zero on the calling thread for the run) gives the descriptor, which
//     is L2-normalised (ModelConfig.Flip: the chip and its mirror image
//     summed first).
//
// FacesBytesWith decodes, looks, budgets and turns exactly as
// embed.Dlib.FacesBytesWith does (JPEG decoded inside the worker), so an
// exclusion Filter checks encoded images through it
// (exclusion.BytesEmbedder). FacesAugmented adds extra descriptors of
// each face (its mirror image, its chip shifted: Augment) for enrolment.
//
// Descriptors are unit vectors, so the engine's Euclidean distance d and
// the model's cosine similarity c are tied by d = sqrt(2 - 2c).
//
// What the model takes and gives is configuration, not code
// (ModelConfig: file, input and output names, chip size, template,
// channel order, mean and scale, dimension), and Model().ID is the SHA-256
// of the weights' SHA-256 and that description: an operator can load an
// ArcFace-style model of their own, and registries enrolled with one
// model refuse another.
//
// scripts/fetch-onnx.sh (make models) installs the default files into
// models/, pinned by SHA-256: fr_feature.onnx and fr_landmark.onnx from
// the npm package faceplugin-face-recognition-js@0.0.1 and
// libonnxruntime.so.1 from onnxruntime-node@1.30.0. Nothing downloads at
// run time, and this package reads no environment variable: programs set
// Config.ModelsDir.
//
// # Caveats
//
// The default model's licence is unclear: its package.json says MIT, but
// its LICENSE file names an unrelated author, and the origin of the
// weights (the data it was trained on, and under which terms) is not
// documented. Operators who need a clear licence should load a model they
// licensed (ModelConfig).
//
// ONNX Runtime keeps one environment per process: the first New loads the
// library and it stays loaded until the process ends; a later New with
// another library path fails with ErrLibrary. onnxruntime_go v1.27.0
// speaks the C API of onnxruntime-node 1.30.0's library; newer bindings
// need a newer library.
//
// Denormals are flushed only on amd64, and only on the thread that calls
// the session: with Config.Threads above 1, ONNX Runtime's own pool
// threads compute them at full cost (its set_denormal_as_zero option is
// not used, because it also changes the floating-point settings of the Go
// thread that creates the first session, for good). The feature model's
// graph produces denormals, which x86 cores compute many times slower.
//
// Dlib68's points are whole pixels (dlib rounds them). Quality.Sharpness
// is measured on the model's chip, not on dlib's 150x150 chip, so its
// scale differs from embed.Dlib's. Only the HOG detector is supported.
//
// # Security Considerations
//
// Images are untrusted: they are bounded and decoded exactly as embed.Dlib
// bounds and decodes them (Detection.MaxPixels, DecodeLimits), faces are
// bounded by MaxFaces, and the source pixels a chip may read are bounded
// (ErrAlign beyond). Every failure of the runtime, the models or the
// alignment is an error wrapping ErrRuntime, ErrModel, ErrDescriptor or
// ErrAlign, never a partial result, so a filter can answer "unchecked".
// Model and library files are checked against their pinned SHA-256s
// before they are loaded: a model file is code-like input to ONNX Runtime.
package onnx
