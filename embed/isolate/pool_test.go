package isolate_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/isolate"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/imageutil"
	"github.com/faceoptout/faceoptout/internal/testimage"
)

// workerEnv makes the test binary a worker (TestWorkerProcess); its value
// says how the worker's embedder behaves: "ok", "dim=N" (another model),
// "no-hello" (exits before Serve), "dlib" (a real embed.Dlib, see
// dlibWorkerEmbedder).
const workerEnv = "ISOLATE_TEST_WORKER"

// Trigger colours of the top-left pixel that make the test worker's
// embedder misbehave, as native code can.
var (
	triggerSegfault  = color.NRGBA{1, 2, 3, 255}
	triggerAbort     = color.NRGBA{4, 5, 6, 255}
	triggerHang      = color.NRGBA{7, 8, 9, 255}
	triggerExit      = color.NRGBA{10, 11, 12, 255}
	triggerMalformed = color.NRGBA{13, 14, 15, 255}
	triggerPanic     = color.NRGBA{16, 17, 18, 255}
	triggerErr       = color.NRGBA{19, 20, 21, 255}
	// triggerLandscape, at a corner, makes the embedder blind to every
	// face of a landscape image (a face only seen turned).
	triggerLandscape = color.NRGBA{22, 23, 24, 255}
)

// hooked is the worker's embedder: exclusiontest.Embedder, except for the
// trigger colours.
type hooked struct {
	exclusiontest.Embedder
	// constant answers one fixed face without reading the pixels (the
	// benchmark's embedder, so that it measures the Pool alone).
	constant bool
}

// constantFace is what a constant embedder answers.
var constantFace = embed.Face{Box: image.Rect(1, 2, 3, 4), Descriptor: make(embed.Descriptor, exclusiontest.DefaultDim)}

func (h *hooked) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	if h.constant {
		return []embed.Face{constantFace}, nil
	}
	bb := img.Bounds()
	for _, c := range []image.Point{bb.Min, {bb.Max.X - 1, bb.Min.Y}, {bb.Min.X, bb.Max.Y - 1}, bb.Max.Sub(image.Pt(1, 1))} {
		r, g, b, _ := img.At(c.X, c.Y).RGBA()
		if (color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}) == triggerLandscape && bb.Dx() > bb.Dy() {
			return []embed.Face{}, nil
		}
	}
	r, g, b, _ := img.At(0, 0).RGBA()
	switch (color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}) {
	case triggerSegfault:
		// The signal arrives asynchronously: wait for it rather than
		// answer first.
		_ = syscall.Kill(os.Getpid(), syscall.SIGSEGV)
		time.Sleep(time.Hour)
	case triggerAbort:
		_ = syscall.Kill(os.Getpid(), syscall.SIGABRT)
		time.Sleep(time.Hour)
	case triggerHang:
		time.Sleep(time.Hour) // deaf to ctx, as a stuck native call
	case triggerExit:
		os.Exit(7)
	case triggerMalformed:
		return []embed.Face{{Descriptor: embed.Descriptor{1, 2, 3}}}, nil
	case triggerPanic:
		panic("embedder bug")
	case triggerErr:
		return nil, fmt.Errorf("%w: unreadable for the test", embed.ErrImage)
	}
	return h.Embedder.Faces(ctx, img)
}

// TestWorkerProcess is the worker the tests' pools start; it skips unless
// started by one.
func TestWorkerProcess(t *testing.T) {
	mode := os.Getenv(workerEnv)
	if mode == "" {
		t.Skip("a worker started by the tests of this package")
	}
	var serve embed.Embedder
	emb := &hooked{}
	serve = emb
	switch mode {
	case "dlib":
		d, err := dlibWorkerEmbedder()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		serve = d
	case "no-hello":
		fmt.Fprintln(os.Stderr, "cannot load the models")
		os.Exit(3)
	case "dim=4":
		emb.Dim = 4
	case "constant":
		emb.constant = true
	}
	if err := isolate.ServeInherited(context.Background(), serve); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// testConfig runs this test binary as the worker.
func testConfig(mode string) isolate.Config {
	cfg := isolate.DefaultConfig()
	cfg.Command = os.Args[0]
	cfg.Args = []string{"-test.run=^TestWorkerProcess$", "-test.count=1"}
	cfg.Env = append(os.Environ(), workerEnv+"="+mode)
	cfg.Timeout = 2 * time.Second
	return cfg
}

func newPool(t testing.TB, cfg isolate.Config) *isolate.Pool {
	t.Helper()
	p, err := isolate.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// faceImage is a 64x64 white image with one fake face (a patch of person
// i's colour), and the top-left pixel set to trigger when it is not zero.
func faceImage(i int, trigger color.NRGBA) *image.NRGBA {
	m := exclusiontest.Image(64, 64, exclusiontest.Face{Box: image.Rect(16, 16, 48, 48), Color: exclusiontest.Person(i)})
	if trigger != (color.NRGBA{}) {
		m.SetNRGBA(0, 0, trigger)
	}
	return m
}

// TestPoolFaces: a pool answers what the embedder in its worker answers.
func TestPoolFaces(t *testing.T) {
	p := newPool(t, testConfig("ok"))
	direct := &exclusiontest.Embedder{}
	if p.Model() != direct.Model() {
		t.Fatalf("model %v, want %v", p.Model(), direct.Model())
	}
	for i := range 5 {
		img := faceImage(i, color.NRGBA{})
		got, err := p.Faces(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := direct.Faces(context.Background(), img)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("image %d: pool %v, direct %v", i, got, want)
		}
	}
	// Another image type and bounds not at the origin.
	g := image.NewGray(image.Rect(5, 5, 40, 30))
	for i := range g.Pix {
		g.Pix[i] = 0xff
	}
	if faces, err := p.Faces(context.Background(), g); err != nil || len(faces) != 0 {
		t.Fatalf("gray image: %v, %v", faces, err)
	}
}

// TestPoolCrashIsolation: a worker that crashes (segfault, abort, exit),
// hangs, panics or answers nonsense costs its image an error, never the
// caller's process, and the next image is answered by a new worker.
func TestPoolCrashIsolation(t *testing.T) {
	tests := []struct {
		name    string
		trigger color.NRGBA
		want    error
		exit    string // start of CrashError.Exit
	}{
		// The Go runtime catches SIGSEGV and SIGABRT (in Go or in cgo code
		// alike), prints every goroutine and exits with status 2.
		{"segfault", triggerSegfault, isolate.ErrCrashed, "exit status 2"},
		{"abort", triggerAbort, isolate.ErrCrashed, "exit status 2"},
		{"exit", triggerExit, isolate.ErrCrashed, "exit status 7"},
		{"hang", triggerHang, isolate.ErrTimeout, ""},
		{"malformed reply", triggerMalformed, isolate.ErrCrashed, "malformed reply"},
		{"panic", triggerPanic, nil, ""},
		{"embedder error", triggerErr, embed.ErrImage, ""},
	}
	p := newPool(t, testConfig("ok"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			faces, err := p.Faces(context.Background(), faceImage(1, tt.trigger))
			if err == nil {
				t.Fatalf("no error, faces %v", faces)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			var ce *isolate.CrashError
			if tt.exit != "" {
				if !errors.As(err, &ce) || len(ce.Exit) < len(tt.exit) || ce.Exit[:len(tt.exit)] != tt.exit {
					t.Fatalf("error %v, want a CrashError with exit %q", err, tt.exit)
				}
			}
			if errors.Is(err, isolate.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("timeout %v does not wrap context.DeadlineExceeded", err)
			}
			t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
			// The pool carries on with a new worker.
			faces, err = p.Faces(context.Background(), faceImage(2, color.NRGBA{}))
			if err != nil || len(faces) != 1 {
				t.Fatalf("next image: %v, %v", faces, err)
			}
		})
	}
}

// TestPoolDeadline: ctx's deadline, earlier than Config.Timeout, bounds a
// stuck call.
func TestPoolDeadline(t *testing.T) {
	cfg := testConfig("ok")
	cfg.Timeout = time.Minute
	p := newPool(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := p.Faces(ctx, faceImage(1, triggerHang))
	if !errors.Is(err, isolate.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want ErrTimeout and DeadlineExceeded", err)
	}
}

func TestPoolStartErrors(t *testing.T) {
	t.Run("no hello", func(t *testing.T) {
		_, err := isolate.New(context.Background(), testConfig("no-hello"))
		if !errors.Is(err, isolate.ErrStart) {
			t.Fatalf("error %v, want ErrStart", err)
		}
	})
	t.Run("missing command", func(t *testing.T) {
		cfg := testConfig("ok")
		cfg.Command = "/nonexistent/worker"
		if _, err := isolate.New(context.Background(), cfg); !errors.Is(err, isolate.ErrStart) {
			t.Fatalf("error %v, want ErrStart", err)
		}
	})
	t.Run("negative config", func(t *testing.T) {
		cfg := testConfig("ok")
		cfg.Workers = -1
		if _, err := isolate.New(context.Background(), cfg); err == nil {
			t.Fatal("no error")
		}
	})
}

// TestPoolConcurrentAndClose runs calls on two workers at once, some of
// them crashing, while the pool is closed: every call ends (with faces or
// an error), Close returns once every worker is reaped, and calls after
// Close fail with ErrClosed.
func TestPoolConcurrentAndClose(t *testing.T) {
	cfg := testConfig("ok")
	cfg.Workers = 2
	p, err := isolate.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			trigger := color.NRGBA{}
			if i%4 == 3 {
				trigger = triggerSegfault
			}
			_, _ = p.Faces(context.Background(), faceImage(i, trigger))
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Faces(context.Background(), faceImage(1, color.NRGBA{})); !errors.Is(err, isolate.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestPoolFacesBytes: the worker decodes encoded images itself. The faces
// of a PNG are those of its pixels; a file imageutil refuses gives its
// sentinel; a reduced image's boxes come back at full size; a decode that
// outlives the deadline (a 40-megapixel lossless WebP of 160 bytes) is
// killed with its worker, and the next call gets a new one.
func TestPoolFacesBytes(t *testing.T) {
	cfg := testConfig("ok")
	cfg.MaxPixels = 64 * 64
	p := newPool(t, cfg)
	for i := range 3 {
		img := faceImage(i, color.NRGBA{})
		want, err := p.Faces(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.FacesBytes(context.Background(), exclusiontest.PNG(img))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("image %d: FacesBytes %v, Faces %v", i, got, want)
		}
	}

	t.Run("reduced", func(t *testing.T) {
		big := exclusiontest.Image(128, 128, exclusiontest.Face{Box: image.Rect(32, 32, 96, 96), Color: exclusiontest.Person(1)})
		got, err := p.FacesBytes(context.Background(), exclusiontest.PNG(big))
		if err != nil || len(got) != 1 {
			t.Fatalf("faces %v, error %v", got, err)
		}
		m, err := imageutil.DecodeBytes(exclusiontest.PNG(big), imageutil.WithPixelBudget(64*64))
		if err != nil || m.Reduction != 2 {
			t.Fatalf("reduced decode: %v, %v", m, err)
		}
		small, _ := (&exclusiontest.Embedder{}).Faces(context.Background(), m.RGB)
		if len(small) != 1 || got[0].Box != (image.Rectangle{Min: small[0].Box.Min.Mul(2), Max: small[0].Box.Max.Mul(2)}) {
			t.Fatalf("box %v, want the half-size image's %v doubled", got[0].Box, small)
		}
	})

	for _, tt := range []struct {
		name string
		data []byte
		want error
	}{
		{"html", []byte("<!doctype html>"), imageutil.ErrFormat},
		{"truncated png", exclusiontest.PNG(faceImage(1, color.NRGBA{}))[:60], imageutil.ErrCorrupt},
		{"16384x16384 claim", testimage.WebPUniform(16384, 16384), imageutil.ErrTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := p.FacesBytes(context.Background(), tt.data); !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}

	t.Run("stuck decode", func(t *testing.T) {
		p := newPool(t, testConfig("ok")) // Timeout 2 s; the decode takes many more
		_, err := p.FacesBytes(context.Background(), testimage.WebPUniform(16383, 2441))
		if !errors.Is(err, isolate.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want ErrTimeout and DeadlineExceeded", err)
		}
		if faces, err := p.FacesBytes(context.Background(), exclusiontest.PNG(faceImage(2, color.NRGBA{}))); err != nil || len(faces) != 1 {
			t.Fatalf("next image: %v, %v", faces, err)
		}
	})
}

// TestPoolFacesBytesWith: with an embedder that has no FacesBytesWith of
// its own, the worker decodes with imageutil, hands the decoded image to
// Look in the caller's process before any face is searched, and answers
// FacesBytes's faces with the BytesResult filled in.
func TestPoolFacesBytesWith(t *testing.T) {
	cfg := testConfig("ok")
	p := newPool(t, cfg)
	ctx := context.Background()
	big := exclusiontest.Image(128, 96, exclusiontest.Face{Box: image.Rect(32, 16, 96, 80), Color: exclusiontest.Person(3)})
	data := exclusiontest.PNG(big)
	turns := []embed.Turn{{Degrees: 90, Reduce: 2}, {Degrees: 270}}

	t.Run("look and faces", func(t *testing.T) {
		var looked image.Point
		res, err := p.FacesBytesWith(ctx, data, embed.BytesOptions{Turns: turns, Look: func(img image.Image) error {
			looked = img.Bounds().Size()
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := p.FacesBytes(ctx, data)
		if fmt.Sprint(res.Faces) != fmt.Sprint(want) || len(want) != 1 {
			t.Fatalf("faces %v, FacesBytes %v", res.Faces, want)
		}
		if looked != image.Pt(128, 96) || res.Size != looked || res.Reduction != 1 || res.Scans != 1 || res.Turn != 0 {
			t.Fatalf("looked at %v; result %+v", looked, res)
		}
	})

	t.Run("large look shrunk", func(t *testing.T) {
		// A look image crosses the pipe box-reduced to no less than
		// embed.LookMinSide on its shorter side; the faces are still
		// searched at full size.
		large := exclusiontest.Image(1200, 800, exclusiontest.Face{Box: image.Rect(300, 200, 900, 600), Color: exclusiontest.Person(3)})
		var looked image.Point
		res, err := p.FacesBytesWith(ctx, exclusiontest.PNG(large), embed.BytesOptions{Look: func(img image.Image) error {
			looked = img.Bounds().Size()
			return nil
		}})
		if err != nil || len(res.Faces) != 1 {
			t.Fatalf("faces %v, error %v", res.Faces, err)
		}
		if looked != image.Pt(400, 267) || res.Size != image.Pt(1200, 800) || res.Reduction != 1 {
			t.Fatalf("looked at %v (want 400x267: shrunk 3 times); result %+v", looked, res)
		}
	})

	t.Run("found turned", func(t *testing.T) {
		sideways := exclusiontest.Image(128, 96, exclusiontest.Face{Box: image.Rect(32, 16, 96, 80), Color: exclusiontest.Person(3)})
		sideways.SetNRGBA(0, 0, triggerLandscape)
		res, err := p.FacesBytesWith(ctx, exclusiontest.PNG(sideways), embed.BytesOptions{Turns: turns})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := p.FacesBytes(ctx, data)
		if res.Turn != 90 || res.Scans != 2 || len(res.Faces) != 1 || res.Faces[0].Box != want[0].Box {
			t.Fatalf("result %+v, want the face %v found turned 90°", res, want)
		}
		if res, err := p.FacesBytesWith(ctx, exclusiontest.PNG(sideways), embed.BytesOptions{}); err != nil || len(res.Faces) != 0 || res.Scans != 1 {
			t.Fatalf("without turns: %+v, %v", res, err)
		}
	})

	t.Run("pixel budget", func(t *testing.T) {
		var looked image.Point
		res, err := p.FacesBytesWith(ctx, data, embed.BytesOptions{MaxPixels: 64 * 48, Look: func(img image.Image) error {
			looked = img.Bounds().Size()
			return nil
		}})
		if err != nil || len(res.Faces) != 1 {
			t.Fatalf("faces %v, error %v", res.Faces, err)
		}
		if looked != image.Pt(64, 48) || res.Size != image.Pt(128, 96) || res.Reduction != 2 {
			t.Fatalf("looked at %v; result %+v", looked, res)
		}
	})

	t.Run("look stops the call", func(t *testing.T) {
		// The worker would segfault on this image's faces: Look's error
		// comes before any face is searched.
		errSeen := errors.New("seen before")
		_, err := p.FacesBytesWith(ctx, exclusiontest.PNG(faceImage(1, triggerSegfault)), embed.BytesOptions{Look: func(image.Image) error { return errSeen }})
		if !errors.Is(err, errSeen) {
			t.Fatalf("error %v, want Look's", err)
		}
		res, err := p.FacesBytesWith(ctx, data, embed.BytesOptions{})
		if err != nil || len(res.Faces) != 1 {
			t.Fatalf("next call: %v, %v", res.Faces, err)
		}
		// A panic in Look is its error, never the caller's process.
		_, err = p.FacesBytesWith(ctx, data, embed.BytesOptions{Look: func(image.Image) error { panic("look bug") }})
		if err == nil || !strings.Contains(err.Error(), "look bug") {
			t.Fatalf("panicking look: %v", err)
		}
	})

	for _, tt := range []struct {
		name string
		data []byte
		opts embed.BytesOptions
		want error
	}{
		{"turn of 45 degrees", data, embed.BytesOptions{Turns: []embed.Turn{{Degrees: 45}}}, embed.ErrConfig},
		{"turn reduced 3 times", data, embed.BytesOptions{Turns: []embed.Turn{{Degrees: 90, Reduce: 3}}}, embed.ErrConfig},
		{"html", []byte("<!doctype html>"), embed.BytesOptions{}, imageutil.ErrFormat},
		{"no bytes", nil, embed.BytesOptions{}, imageutil.ErrFormat},
		{"worker segfaults", exclusiontest.PNG(faceImage(1, triggerSegfault)), embed.BytesOptions{}, isolate.ErrCrashed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := p.FacesBytesWith(ctx, tt.data, tt.opts); !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}

	t.Run("stuck decode", func(t *testing.T) {
		// A 40-megapixel lossless WebP of 160 bytes decodes for longer
		// than the deadline: the worker is killed.
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := p.FacesBytesWith(ctx, testimage.WebPUniform(16383, 2441), embed.BytesOptions{Look: func(image.Image) error { return nil }})
		if !errors.Is(err, isolate.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want ErrTimeout and DeadlineExceeded", err)
		}
		if res, err := p.FacesBytesWith(context.Background(), data, embed.BytesOptions{}); err != nil || len(res.Faces) != 1 {
			t.Fatalf("next call: %v, %v", res.Faces, err)
		}
	})
}
