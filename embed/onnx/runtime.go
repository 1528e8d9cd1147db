package onnx

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ortEnv is the process's ONNX Runtime environment. onnxruntime_go keeps
// one environment per process, bound to one shared library, so every
// Embedder of a process uses the library the first one loaded; it stays
// loaded until the process ends.
var ortEnv struct {
	mu  sync.Mutex // guards lib
	lib string     // path of the loaded library; empty before the first load
}

// loadRuntime loads the library at path, once per process.
func loadRuntime(path string) error {
	ortEnv.mu.Lock()
	defer ortEnv.mu.Unlock()
	if ortEnv.lib != "" {
		if ortEnv.lib != path {
			return fmt.Errorf("%w: %s is already loaded in this process; %s cannot be", ErrLibrary, ortEnv.lib, path)
		}
		return nil
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrLibrary, path, err)
	}
	ortEnv.lib = path
	return nil
}

// checkFile checks that path is a regular file and returns its hex
// SHA-256, which must equal pin when pin is set; failures wrap sentinel.
func checkFile(sentinel error, path, pin string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v", sentinel, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("%w: %v", sentinel, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %s: not a regular file", sentinel, path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%w: %s: %v", sentinel, path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if pin != "" && sum != pin {
		return "", fmt.Errorf("%w: %s has SHA-256 %s, want %s", sentinel, path, sum, pin)
	}
	return sum, nil
}

// session is one model loaded in ONNX Runtime with its input and output
// tensors bound. It is not safe for concurrent use.
type session struct {
	s   *ort.AdvancedSession
	in  *ort.Tensor[float32]
	out *ort.Tensor[float32]
}

// newSession loads the model at path with a 1 x ... input and a 1 x outDim
// output, run on threads threads with optimisation opt; errors wrap
// ErrModel or ErrRuntime.
func newSession(path, input, output string, inShape ort.Shape, outDim int, threads int, opt Optimization) (*session, error) {
	lvl, ok := opt.level()
	if !ok {
		return nil, fmt.Errorf("%w: optimization %q", ErrConfig, opt)
	}
	in, err := ort.NewEmptyTensor[float32](inShape)
	if err != nil {
		return nil, fmt.Errorf("%w: input tensor: %v", ErrRuntime, err)
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(1, int64(outDim)))
	if err != nil {
		in.Destroy()
		return nil, fmt.Errorf("%w: output tensor: %v", ErrRuntime, err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		in.Destroy()
		out.Destroy()
		return nil, fmt.Errorf("%w: session options: %v", ErrRuntime, err)
	}
	defer opts.Destroy()
	// Each worker owns its sessions: no thread pool between operators,
	// and threads that sleep instead of spinning when idle.
	for _, set := range []func() error{
		func() error { return opts.SetIntraOpNumThreads(threads) },
		func() error { return opts.SetInterOpNumThreads(1) },
		func() error { return opts.SetExecutionMode(ort.ExecutionModeSequential) },
		func() error { return opts.SetGraphOptimizationLevel(lvl) },
		func() error { return opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0") },
	} {
		if err := set(); err != nil {
			in.Destroy()
			out.Destroy()
			return nil, fmt.Errorf("%w: session options: %v", ErrRuntime, err)
		}
	}
	s, err := ort.NewAdvancedSession(path, []string{input}, []string{output},
		[]ort.Value{in}, []ort.Value{out}, opts)
	if err != nil {
		in.Destroy()
		out.Destroy()
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, path, err)
	}
	return &session{s: s, in: in, out: out}, nil
}

// run runs the model on the input tensor's contents, with denormal
// numbers flushed to zero: the feature model's weights and activations
// produce denormals, which x86 cores compute many times slower than
// normal numbers, and whose values (below 1.2e-38) change no descriptor
// by more than rounding does (TestDenormalsFlushed).
func (s *session) run() error {
	if err := withDenormalsFlushed(s.s.Run); err != nil {
		return fmt.Errorf("%w: %v", ErrRuntime, err)
	}
	return nil
}

func (s *session) destroy() {
	if s == nil {
		return
	}
	s.s.Destroy()
	s.in.Destroy()
	s.out.Destroy()
}
