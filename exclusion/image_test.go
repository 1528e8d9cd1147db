package exclusion_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/imageutil"
	"github.com/faceoptout/faceoptout/internal/testenv"
	"github.com/faceoptout/faceoptout/internal/testimage"
)

// plainEmbedder hides embed.Dlib's FacesBytesWith: a Filter over it takes
// the slow path (imageutil decode, then Faces).
type plainEmbedder struct{ d *embed.Dlib }

func (p plainEmbedder) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	return p.d.Faces(ctx, img)
}

func (p plainEmbedder) Model() embed.Model { return p.d.Model() }

// TestFastPathMatchesSlowPath checks the Filter's fast path (the
// embedder's own decoder: libjpeg-turbo in the worker, the look for the
// perceptual hash) against its slow path (imageutil decode, then Faces)
// on every photo of faces/bbt and faces/idols, with three faces/bbt people
// enrolled and an image removal of a re-encoded idols photo: the same
// verdicts, the same requests, the same faces within a few pixels, and
// distances to the enrolled faces within 0.1 (the two decoders' JPEG
// pixels differ slightly, and so do descriptors). EXIF-less turned copies
// of the group photos, which only the turned scans find faces in, are
// held to the same as PNG; as JPEG, to the same decision (kept out or
// allowed).
func TestFastPathMatchesSlowPath(t *testing.T) {
	const distTolerance = 0.1
	emb := realEmbedder(t)
	faces := testenv.Faces(t)
	st, err := boltstore.Create(filepath.Join(t.TempDir(), "registry.db"), boltstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := exclusion.Create(ctx, st, emb, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	for _, p := range []string{"sheldon", "penny", "leonard"} {
		req := mustSubmit(t, reg, faceSubmission(readFile(t, filepath.Join(faces, "bbt", p, p+"1.png"))))
		mustApprove(t, reg, req.ID)
	}
	idols, _ := filepath.Glob(filepath.Join(faces, "idols", "*.jpg"))
	sort.Strings(idols)
	if len(idols) == 0 {
		t.Fatal("no faces/idols photos")
	}
	removal := removalSubmission("https://example.org/removed.jpg")
	removal.Photos = []exclusion.Photo{{Data: jpegOf(t, decodeFile(t, idols[0]), 70)}}
	mustApprove(t, reg, mustSubmit(t, reg, removal).ID)

	cfg := exclusion.DefaultFilterConfig()
	cfg.NoTimeout = true
	fast, err := exclusion.NewFilter(reg, emb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := exclusion.NewFilter(reg, plainEmbedder{emb}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(faces, "bbt", "*", "*.png"))
	groups, _ := filepath.Glob(filepath.Join(faces, "bbt", "*.jpg"))
	files = append(append(files, groups...), idols...)
	// Turned copies are compared with the crop retry off: the fast path
	// skips it on the turned scans' reduced copies, while the slow path's
	// turned scans are whatever its embedder's Faces finds, and embed.Dlib's
	// Faces retries every image of up to 512 px.
	nrCfg := embed.DefaultDlibConfig()
	nrCfg.ModelsDir, nrCfg.Workers, nrCfg.NoCropRetry = testenv.Models(t), 2, true
	noRetry, err := embed.NewDlib(nrCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer noRetry.Close()
	fastNR, err := exclusion.NewFilter(reg, noRetry, cfg)
	if err != nil {
		t.Fatal(err)
	}
	slowNR, err := exclusion.NewFilter(reg, plainEmbedder{noRetry}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	type input struct {
		name       string
		data       []byte
		fast, slow *exclusion.Filter
		// keptOut compares only whether the image is kept out (blocked or
		// sent to review): a turned JPEG, whose reduced copy the fast path
		// decodes DCT-scaled and the slow path box-reduces from the full
		// decode, pixels the detector may read differently on faces it
		// barely finds (upside down).
		keptOut bool
	}
	var inputs []input
	for _, f := range files {
		inputs = append(inputs, input{filepath.Base(f), readFile(t, f), fast, slow, false})
	}
	// EXIF-less turned copies of the group photos, as JPEG and PNG: both
	// paths find their faces on reduced turned copies (the fast path's
	// JPEG copy DCT-scaled, every other a box mean).
	for _, f := range groups {
		img := decodeFile(t, f)
		for _, deg := range []int{90, 180, 270} {
			turned := imageutil.Orient(img, imageutil.TurnOrientation(deg))
			name := fmt.Sprintf("%s turned %d°", filepath.Base(f), deg)
			inputs = append(inputs, input{name + " (JPEG)", jpegOf(t, turned, 95), fastNR, slowNR, true},
				input{name + " (PNG)", encodePNG(t, turned), fastNR, slowNR, false})
		}
	}
	counts := map[exclusion.Verdict]int{}
	var worst float64
	compared, turnedBlocked := 0, 0
	for _, in := range inputs {
		name, data := in.name, in.data
		a, b := in.fast.CheckImageBytes(ctx, data), in.slow.CheckImageBytes(ctx, data)
		if in.fast == fastNR && a.Verdict == exclusion.Block {
			turnedBlocked++
		}
		counts[a.Verdict]++
		if in.keptOut {
			if (a.Verdict == exclusion.Allow) != (b.Verdict == exclusion.Allow) {
				t.Errorf("%s: fast path %v (err %v), slow path %v (err %v)", name, a.Verdict, a.Err, b.Verdict, b.Err)
			} else if a.Verdict != b.Verdict || len(a.Faces) != len(b.Faces) {
				t.Logf("%s: both keep it out; fast path %v with %d faces, slow path %v with %d", name, a.Verdict, len(a.Faces), b.Verdict, len(b.Faces))
			}
			continue
		}
		if a.Verdict != b.Verdict || !equalStrings(a.RequestIDs, b.RequestIDs) {
			t.Errorf("%s: fast path %v %v (err %v), slow path %v %v (err %v)", name, a.Verdict, a.RequestIDs, a.Err, b.Verdict, b.RequestIDs, b.Err)
			continue
		}
		if len(a.Faces) != len(b.Faces) {
			t.Errorf("%s: fast path found %d faces, slow path %d", name, len(a.Faces), len(b.Faces))
			continue
		}
		for _, fa := range a.Faces {
			fb, ok := sameFace(fa, b.Faces)
			if !ok {
				t.Errorf("%s: face %v of the fast path not found by the slow path", name, fa.Box)
				continue
			}
			if fa.Verdict != fb.Verdict {
				t.Errorf("%s: face %v: fast %v, slow %v", name, fa.Box, fa.Verdict, fb.Verdict)
			}
			for _, ma := range fa.Matches {
				for _, mb := range fb.Matches {
					if ma.FaceID == mb.FaceID {
						compared++
						d := math.Abs(ma.Distance - mb.Distance)
						worst = max(worst, d)
						if d > distTolerance {
							t.Errorf("%s: face %v to enrolled face %d: fast %.3f, slow %.3f", name, fa.Box, ma.FaceID, ma.Distance, mb.Distance)
						}
					}
				}
			}
		}
	}
	t.Logf("%d images: verdicts %v (turned copies blocked: %d); %d distances compared, largest difference %.4f (tolerance %.2f)",
		len(inputs), counts, turnedBlocked, compared, worst, distTolerance)
	if counts[exclusion.Block] == 0 || turnedBlocked == 0 {
		t.Error("nothing blocked, or no turned copy: the fixture does not exercise matching")
	}
}

func sameFace(f exclusion.FaceCheck, others []exclusion.FaceCheck) (exclusion.FaceCheck, bool) {
	best, bi := 0.0, -1
	for i, o := range others {
		if v := exclusion.IoU(f.Box, o.Box); v > best {
			best, bi = v, i
		}
	}
	if bi < 0 || best < 0.7 {
		return exclusion.FaceCheck{}, false
	}
	return others[bi], true
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }

func decodeFile(t *testing.T, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := imageutil.DecodeBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	return m.RGB
}

// countingEmbedder counts the face searches of the fake embedder.
type countingEmbedder struct {
	*exclusiontest.Embedder
	n atomic.Int64
}

func (c *countingEmbedder) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	c.n.Add(1)
	return c.Embedder.Faces(ctx, img)
}

// TestNoWastedWork checks that an image-level match never searches faces
// and that a registry without approved faces never runs the detector,
// while an image that cannot be decoded stays Unchecked.
func TestNoWastedWork(t *testing.T) {
	// The removed image: diagonal stripes, unlike the fake faces' photos.
	removed := image.NewNRGBA(image.Rect(0, 0, 240, 200))
	for y := range 200 {
		for x := range 240 {
			v := uint8(40)
			if (x+y)/30%2 == 0 {
				v = 220
			}
			removed.Pix[removed.PixOffset(x, y)+0], removed.Pix[removed.PixOffset(x, y)+1] = v, 255-v
			removed.Pix[removed.PixOffset(x, y)+2], removed.Pix[removed.PixOffset(x, y)+3] = v/2, 255
		}
	}
	removedPNG := exclusiontest.PNG(removed)
	tests := []struct {
		name   string
		faces  bool // enrol a face opt-out of person 1
		image  []byte
		want   exclusion.Verdict
		by     exclusion.MatchKind
		search bool // whether faces may be searched
	}{
		{"no faces enrolled: a photo with a face", false, photo(person(1)), exclusion.Allow, "", false},
		{"no faces enrolled: not an image", false, []byte("not an image"), exclusion.Unchecked, "", false},
		{"no faces enrolled: truncated PNG", false, photo(person(1))[:100], exclusion.Unchecked, "", false},
		{"same bytes as a removed image", true, removedPNG, exclusion.Block, exclusion.MatchSHA256, false},
		{"re-encoded removed image", true, jpegOf(t, removed, 90), exclusion.Block, exclusion.MatchPHash, false},
		{"faces enrolled: a photo with the face", true, photo(at(person(1), 50, 40)), exclusion.Block, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			emb := &countingEmbedder{Embedder: &exclusiontest.Embedder{}}
			reg, _ := newRegistry(t, emb)
			rm := removalSubmission("https://example.org/removed.png")
			rm.Photos = []exclusion.Photo{{Data: removedPNG}}
			mustApprove(t, reg, mustSubmit(t, reg, rm).ID)
			if tc.faces {
				mustApprove(t, reg, mustSubmit(t, reg, faceSubmission(photo(person(1)))).ID)
			}
			f := newFilter(t, reg, emb)
			before := emb.n.Load()
			d := f.CheckImageBytes(ctx, tc.image)
			searched := emb.n.Load() - before
			if d.Verdict != tc.want {
				t.Fatalf("verdict %v (err %v), want %v", d.Verdict, d.Err, tc.want)
			}
			if tc.by != "" && (len(d.Images) == 0 || d.Images[0].By != tc.by) {
				t.Errorf("image matches %+v, want one by %s", d.Images, tc.by)
			}
			if !tc.search && searched != 0 {
				t.Errorf("faces searched %d times, want none", searched)
			}
			if tc.search && searched == 0 {
				t.Errorf("faces never searched")
			}
		})
	}
}

// abandonFilter returns a Filter over a registry without faces (every
// image is decoded, then allowed) whose checks time out after timeout.
func abandonFilter(t *testing.T, timeout time.Duration) *exclusion.Filter {
	t.Helper()
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	cfg := exclusion.DefaultFilterConfig()
	cfg.Timeout = timeout
	f, err := exclusion.NewFilter(reg, emb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCheckAbandonsStuckDecode holds the Filter's decode until released:
// the check answers Unchecked (ErrUnchecked wrapping DeadlineExceeded) at
// its deadline while the decode is still held; with MaxAbandoned checks
// held, the next answers Unchecked without decoding; once released and
// finished, checks decode again.
func TestCheckAbandonsStuckDecode(t *testing.T) {
	f := abandonFilter(t, 20*time.Millisecond)
	var (
		entered = make(chan struct{}, exclusion.MaxAbandoned+1)
		release = make(chan struct{})
		calls   atomic.Int64
	)
	restore := exclusion.SetDecodeCheck(t, func(ctx context.Context, data []byte, opts ...imageutil.Option) (*imageutil.Image, error) {
		calls.Add(1)
		entered <- struct{}{}
		<-release
		return imageutil.DecodeBytesContext(ctx, data, opts...)
	})
	defer restore()
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	img := photo(person(1))

	for i := range exclusion.MaxAbandoned {
		d := f.CheckImageBytes(ctx, img)
		if d.Verdict != exclusion.Unchecked || !errors.Is(d.Err, exclusion.ErrUnchecked) || !errors.Is(d.Err, context.DeadlineExceeded) {
			t.Fatalf("check %d: %v (%v), want Unchecked wrapping ErrUnchecked and DeadlineExceeded", i, d.Verdict, d.Err)
		}
		<-entered // the decode started (perhaps after the check returned) and is still held
		if got := exclusion.AbandonedChecks(); got != int64(i+1) {
			t.Fatalf("after check %d: %d abandoned checks, want %d", i, got, i+1)
		}
	}
	d := f.CheckImageBytes(ctx, img)
	if d.Verdict != exclusion.Unchecked || !errors.Is(d.Err, exclusion.ErrUnchecked) || errors.Is(d.Err, context.DeadlineExceeded) {
		t.Fatalf("past the bound: %v (%v), want Unchecked at once", d.Verdict, d.Err)
	}
	if n := calls.Load(); n != exclusion.MaxAbandoned {
		t.Fatalf("%d decodes started, want %d: the check past the bound decoded", n, exclusion.MaxAbandoned)
	}

	close(release)
	released = true
	exclusion.WaitAbandoned(t)
	restore()
	f = abandonFilter(t, 0) // the default timeout
	wantVerdict(t, f.CheckImageBytes(ctx, img), exclusion.Allow)
}

// TestCheckAbandonsWebPBomb checks a lossless WebP bomb (160 bytes, 40 MP,
// seconds of decoding after its last read) under a short timeout: the
// verdict is Unchecked with DeadlineExceeded, returned while the decode
// still runs.
func TestCheckAbandonsWebPBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes a 40 MP WebP")
	}
	w, h := 16383, 2441 // 40 MP: the largest the limits admit
	if raceDetector {
		w, h = 2048, 1024 // 2 MP: still seconds under the race detector
	}
	bomb := testimage.WebPUniform(w, h)
	finished := make(chan struct{})
	restore := exclusion.SetDecodeCheck(t, func(ctx context.Context, data []byte, opts ...imageutil.Option) (*imageutil.Image, error) {
		defer close(finished)
		return imageutil.DecodeBytesContext(ctx, data, opts...)
	})
	defer restore()
	f := abandonFilter(t, 20*time.Millisecond)
	d := f.CheckImageBytes(ctx, bomb)
	select {
	case <-finished:
		t.Fatal("the check returned after the decode finished")
	default:
	}
	if d.Verdict != exclusion.Unchecked || !errors.Is(d.Err, exclusion.ErrUnchecked) || !errors.Is(d.Err, context.DeadlineExceeded) {
		t.Fatalf("%v (%v), want Unchecked wrapping ErrUnchecked and DeadlineExceeded", d.Verdict, d.Err)
	}
	if n := exclusion.AbandonedChecks(); n != 1 {
		t.Fatalf("%d abandoned checks, want 1", n)
	}
	<-finished
	exclusion.WaitAbandoned(t)
}

// heldBytes is a BytesEmbedder whose FacesBytesWith (where such an
// embedder decodes) holds until released, deaf to its context, as a
// decoder that cannot be interrupted.
type heldBytes struct {
	exclusiontest.Embedder
	entered chan struct{}
	release chan struct{}
}

func (h *heldBytes) FacesBytesWith(ctx context.Context, data []byte, opts embed.BytesOptions) (embed.BytesResult, error) {
	h.entered <- struct{}{}
	<-h.release
	return embed.BytesResult{}, ctx.Err()
}

// TestCheckAbandonsStuckBytesEmbedder: the deadline holds on the path of an
// embedder that decodes images itself, too.
func TestCheckAbandonsStuckBytesEmbedder(t *testing.T) {
	exclusion.WaitAbandoned(t)
	emb := &heldBytes{entered: make(chan struct{}, 1), release: make(chan struct{})}
	reg, _ := newRegistry(t, emb)
	cfg := exclusion.DefaultFilterConfig()
	cfg.Timeout = 20 * time.Millisecond
	f, err := exclusion.NewFilter(reg, emb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := f.CheckImageBytes(ctx, photo(person(1)))
	if d.Verdict != exclusion.Unchecked || !errors.Is(d.Err, exclusion.ErrUnchecked) || !errors.Is(d.Err, context.DeadlineExceeded) {
		t.Fatalf("%v (%v), want Unchecked wrapping ErrUnchecked and DeadlineExceeded", d.Verdict, d.Err)
	}
	<-emb.entered
	if n := exclusion.AbandonedChecks(); n != 1 {
		t.Fatalf("%d abandoned checks, want 1", n)
	}
	close(emb.release)
	exclusion.WaitAbandoned(t)
}
