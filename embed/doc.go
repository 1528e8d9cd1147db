// Package embed finds faces in images and turns each into a 128-D dlib
// descriptor, the representation faceoptout's index and exclusion filter
// compare with Euclidean distances.
//
// # Basics
//
// NewDlib loads dlib's models (see ./scripts/fetch-models.sh) into a pool
// of workers, one per CPU by default, each with its own copy of the nets:
//
//	cfg := embed.DefaultDlibConfig()
//	cfg.ModelsDir = modelsDir // default "models"; the library reads no environment variable
//	d, err := embed.NewDlib(cfg)
//	if err != nil { ... }
//	defer d.Close()
//	faces, err := d.Faces(ctx, img) // img from imageutil.Decode(...).RGB
//
// For encoded images (a crawler's or a requester's bytes), FacesBytes does
// the decoding too, and faster: JPEG is decoded by libjpeg-turbo straight
// into the worker's buffer, scaled in the DCT domain when detection needs
// half the resolution or less (MinFaceSize >= 166 on photos of 1024 px or
// more), so such a photo is never decoded at full size; other formats go
// through imageutil.DecodeBytes:
//
//	faces, err := d.FacesBytes(ctx, data) // same limits and errors as imageutil
//
// Each Face has its box, five landmarks, descriptor and Quality (size in
// full-resolution pixels, chip sharpness, detector score and pose). Two
// descriptors of one person usually lie within about 0.6 of each other.
//
// Detection runs on a resized copy of the image: DlibConfig.MinFaceSize is
// the smallest face (in full-resolution pixels) that must be found, and the
// copy is scaled so that such a face has the detector's native size (80 px
// for both detectors). Large photos are thus scanned downscaled,
// which is where most of the speed comes from. Landmarks and descriptors are
// computed on the full-resolution image (with FacesBytes: on the image as
// decoded, where a face of MinFaceSize still has at least the detector's
// native size), so they agree with a full-size scan. FacesWithStats and
// FacesBytesWithStats report the time spent in each stage.
//
// The HOG scans an image pyramid, each level 5/6 of the one above, and a
// downscale is snapped to that grid: the copy is (5/6)^k of the image, the
// largest such scale at which a face of MinFaceSize still reaches 80 px,
// made by k steps of the pyramid's own resize (MinFaceSize 120: k = 2,
// faces from 116 px; 160: k = 3, from 139 px). The levels scanned are then
// exactly levels of a full-size scan, and detections are mapped back up
// the pyramid as a full-size scan maps them, so boxes, landmarks and
// descriptors agree with a full-size scan by construction, not by
// approximation (an arbitrary scale such as 80/120 puts every level between
// two of a full-size scan's and moves boxes by a few pixels; descriptors
// then differ by up to about 0.1). The pyramid's resize is our fixed-point
// version of dlib's float bilinear one, 4x faster, its pixels within 1 of
// dlib's; the HOG scores move by a few hundredths, so where two windows or
// poses of a face score within that of each other the box can differ
// (tested against dlib's resize: 76 of 80 detections identical on
// faces/idols, the others at the same face).
//
// # Caveats
//
// Faces smaller than MinFaceSize are usually missed; when MinFaceSize is
// below the native size the image is upsampled, but never beyond
// MaxUpsamplePixels, so in large images the smallest face found can be
// larger (Stats.MinFace). The HOG detector finds frontal and
// near-profile faces, not strongly turned, tilted or occluded ones; the CNN
// finds more but is many times slower on a CPU. Tight face crops, where the
// face fills the image, may need a smaller MinFaceSize (the crop is then
// upsampled) to be found; the crop retry (on unless NoCropRetry) rescans small images
// that gave nothing with a wide border, then upsampled. Descriptors are not
// comparable across models.
//
// Context cancellation is checked before and between the stages (convert,
// detect, describe): a stage running in C++ is not interrupted, so a CNN
// scan of a large photo can outlive its context by seconds. With Jitter > 0
// descriptors vary slightly from call to call (random jitter per worker).
//
// The C++ code is compiled without -march=native, so that the binary runs
// on any x86-64. dlib chooses its SIMD code at compile time, so the HOG scan
// is compiled twice: portably (SSE2) and, in a translation unit of its own,
// for AVX2+FMA, chosen at run time when the CPU has both. The AVX2 build
// computes the FHOG features with its own code: gradients loaded with byte
// shuffles (dlib's code gathers them pixel by pixel) and each pixel's
// orientation looked up in a table of all integer gradients (dlib compares
// 9 dot products per pixel); it resizes its pyramid levels four pixels at
// a time, and applies the detector's 305 separable filter parts with fused
// code that keeps the taps in registers and each part's row pass in cache
// for its column pass (dlib runs each part over whole planes). Every one
// of these gives bit-identical results to the dlib code it replaces
// (tested: pixels, features, and detections with their scores). The two
// builds find the same faces with scores within float rounding of each
// other (tested). To
// keep the linker from mixing the two builds of a template (it keeps one
// copy of each weak symbol), the AVX2 unit renames dlib's namespace and
// includes every standard header before switching the target; a test
// checks the object file for AVX code in any shared symbol
// (embed/internal/dlib/hog_avx2.cc explains the mechanism).
//
// Descriptors run dlib's ResNet through the system BLAS (libblas.so.3);
// with Debian's libopenblas0-serial installed (make test and make demo do)
// that is OpenBLAS, about 1.8x faster than ATLAS's generic build. A
// multi-threaded BLAS would compete with the workers for the cores: when
// libopenblas0-pthread is installed too, Debian prefers it, so run with
// OPENBLAS_NUM_THREADS=1 (or remove it).
//
// Boxes found on a copy scaled off the pyramid's grid (upsampled, decoded
// scaled by FacesBytes, or scanned by the CNN) differ by a few pixels from a
// full-size scan's (the HOG works on 8-pixel cells of the scanned image),
// and dlib's landmarks, hence the aligned chip and the descriptor, follow
// the box. On the grid (every HOG downscale from a full-size decode) most
// descriptors equal a full-size scan's; the rest come from faces where the
// resize's rounding tipped a near tie (see the README's table).
//
// FacesBytes' descriptors of JPEG photos come from libjpeg-turbo's pixels,
// not Go's: its chroma upsampling differs slightly, and at MinFaceSize >= 166
// the image is decoded at half size or less; descriptors then move by up to
// about 0.1 against Faces on imageutil's pixels (measured: see the README),
// within the agreement of a full-size scan. "bench embed" (examples/bench)
// and "go test -bench Faces ./embed/" measure throughput, faces found and
// descriptor agreement by MinFaceSize; add -tags gofacebaseline to the
// former to compare with plain go-face.
//
// Without cgo (CGO_ENABLED=0) the package still builds, with every type
// (Descriptor, Face, Model, Embedder, DlibConfig, Stats, ...), so pure-Go
// packages such as exclusion build too; NewDlib then returns ErrNoCgo.
// Locator exists only with cgo.
//
// # Security Considerations
//
// The nets run in C++ through cgo (package embed/internal/dlib): every
// entry point catches C++ exceptions and returns them as errors wrapping
// ErrDlib, so a failure never crosses the boundary as a crash. Images larger
// than DlibConfig.MaxPixels are rejected with ErrImage before any work, and
// an image holding more than MaxFaces faces fails with ErrTooManyFaces
// rather than being checked partly. Memory per call is bounded by the image
// (one packed RGB copy, the scanned copy within MaxUpsamplePixels) and by
// the face batch. Decode untrusted bytes with imageutil.Decode, which
// bounds input size and pixel count and turns decoder panics into errors;
// embed trusts the decoded image.Image.
//
// FacesBytes hands untrusted JPEG bytes to libjpeg-turbo (C). It applies
// DecodeLimits (imageutil's defaults: 20 MiB, 40 megapixels) before any
// pixel is allocated, reading the header first; bounds libjpeg's own memory
// (the coefficient buffers of a progressive file) and the number of
// progressive scans (256), so a hostile file cannot take minutes; turns
// every libjpeg error into a Go error (its error_exit longjmps back into the
// C function that called libjpeg, never across C++ or Go frames); and
// treats libjpeg's corrupt-data warnings, truncation included, as errors,
// where libjpeg alone would return grey pixels. The decoder is fuzzed
// (FuzzDecodeJPEG in embed/internal/dlib, FuzzFacesBytes here).
package embed
