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
//	d, err := embed.NewDlib(cfg)
//	if err != nil { ... }
//	defer d.Close()
//	faces, err := d.Faces(ctx, img) // img from imageutil.Decode(...).RGB
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
// always computed on the full-resolution image, so they agree with a
// full-size scan. FacesWithStats reports the time spent in each stage.
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
// upsampled) to be found; CropRetry (on by default) rescans small images
// that gave nothing with a wide border, then upsampled. Descriptors are not
// comparable across models.
//
// Context cancellation is checked before and between the stages (convert,
// detect, describe): a stage running in C++ is not interrupted, so a CNN
// scan of a large photo can outlive its context by seconds. With Jitter > 0
// descriptors vary slightly from call to call (random jitter per worker).
//
// The C++ code is compiled without -march=native, so dlib's HOG scan uses
// SSE2 only: a build with AVX2 scans about 1.3-1.5x faster (measured, not
// used, since the binary must run on any x86-64). "faceoptout bench embed"
// and "go test -bench Faces ./embed/" measure throughput, faces found and
// descriptor agreement by MinFaceSize; add -tags gofacebaseline to the
// former to compare with plain go-face.
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
package embed
