// Package isolate runs an embedder in worker processes, so that a crash of
// native code (dlib, libjpeg, the ONNX runtime: an abort, a segmentation
// fault, an allocation failure that kills the process) or a stuck call
// costs one image, never the caller's process.
//
// # Basics
//
// The program runs the same executable twice: as itself, and as a worker
// that [Serve]s a real embedder. It decides how a worker is recognised (the
// library reads no environment variable and no flag):
//
//	func main() {
//		if len(os.Args) > 1 && os.Args[1] == "embed-worker" {
//			emb, err := embed.NewDlib(embed.DefaultDlibConfig())
//			if err != nil {
//				log.Fatal(err)
//			}
//			log.Fatal(isolate.ServeInherited(context.Background(), emb))
//		}
//		cfg := isolate.DefaultConfig()
//		cfg.Args = []string{"embed-worker"} // Command: this executable
//		pool, err := isolate.New(ctx, cfg)
//		...
//		f, err := exclusion.NewFilter(reg, pool, exclusion.DefaultFilterConfig())
//
// A [Pool] is an embed.Embedder: Faces sends the image's pixels to an idle
// worker over a pipe and waits for its faces; FacesBytes and
// FacesBytesWith send an encoded image, which the worker decodes. Model is
// the workers' model, reported by each worker when it starts (workers of
// another model are refused).
//
// When a worker dies while it holds an image (killed by a signal, exited),
// Faces returns an error wrapping [ErrCrashed] (a *[CrashError] with the
// signal or exit code and the end of the worker's stderr), and the next
// call starts a new worker in its place. When the call's deadline passes
// (the earlier of ctx's deadline and Config.Timeout) the worker is killed,
// whether it decodes, waits for the look's answer or scans, and the call
// returns an error wrapping [ErrTimeout] and context.DeadlineExceeded.
// Either way the image was not checked: the exclusion Filter answers
// Unchecked for it, and the caller carries on.
//
// # Caveats
//
// Each image costs a copy of its pixels through a pipe (4 bytes a pixel)
// and a second copy in the worker; pass images reduced to the size
// detection needs (imageutil.WithPixelBudget). Each worker is a whole
// process holding its own models (dlib's: about 100 MB).
//
// [Pool.FacesBytes] and [Pool.FacesBytesWith] send the encoded file
// instead, and the worker decodes it, so a decode that outlives the
// deadline is killed with the worker rather than running on in the
// caller's process. FacesBytesWith (what the exclusion Filter calls: a
// Pool is an exclusion.BytesEmbedder) hands the file to the worker's
// embedder's own FacesBytesWith when it has one (embed.Dlib: libjpeg,
// DCT-scaled), else decodes it with imageutil within the pixel budget and
// scans it upright and turned with the embedder's Faces; FacesBytes always
// decodes with imageutil. BytesOptions.Look runs in the caller's process:
// the worker sends the look image back through the pipe (for embed.Dlib a
// reduced copy of a JPEG, the decoded image of any other format within
// the pixel budget; either box-reduced, when larger, to no less than
// embed.LookMinSide on its shorter side) and waits for go or stop before
// it searches any face; the deadline covers the look too.
//
// # Security Considerations
//
// Images are untrusted; the worker is where native code meets them. The
// protocol between Pool and worker is private to the two (inherited pipes,
// file descriptors 3 and 4); the Pool checks every reply (face counts,
// descriptor lengths, finite numbers, look images' sizes, a look image only
// when asked for) and treats a malformed one as a crash. A worker runs with the caller's privileges: confining it further
// (seccomp, namespaces, rlimits) is the program's choice, made through
// Config.Command and Config.Args (for example a wrapper such as prlimit).
package isolate
