package isolate

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/imageutil"
)

// Pool is an embed.Embedder whose Faces run in worker processes. It is safe
// for concurrent use: up to Config.Workers calls run at once, the others
// wait for a worker (or their ctx).
type Pool struct {
	cfg     Config
	command string
	model   embed.Model

	// slots holds one entry per worker slot: an idle worker, or nil for a
	// slot whose worker must be started. A call takes a slot and gives it
	// back.
	slots chan *worker

	mu     sync.Mutex // guards closed and live
	closed bool
	live   map[*worker]struct{} // every started worker not yet reaped
}

var _ embed.Embedder = (*Pool)(nil)

// worker is one worker process and the Pool's ends of its pipes.
type worker struct {
	cmd    *exec.Cmd
	in     *os.File // requests, to the worker
	out    *os.File // replies, from the worker
	enc    *gob.Encoder
	dec    *gob.Decoder
	stderr *tail
	done   chan struct{} // closed once the process is reaped
	exit   error         // cmd.Wait's error; read after done
}

// New starts one worker (to learn the model; the others start on first
// use) and returns the Pool. The worker must reach Serve within
// Config.StartTimeout.
func New(ctx context.Context, cfg Config) (*Pool, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Pool{cfg: cfg, command: cfg.Command, slots: make(chan *worker, cfg.Workers), live: map[*worker]struct{}{}}
	if p.command == "" {
		if p.command, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrStart, err)
		}
	}
	w, m, err := p.start(ctx)
	if err != nil {
		return nil, err
	}
	p.model = m
	p.slots <- w
	for range cfg.Workers - 1 {
		p.slots <- nil
	}
	return p, nil
}

// Model implements embed.Embedder: the model the workers reported.
func (p *Pool) Model() embed.Model { return p.model }

// start starts a worker process and waits for its hello.
func (p *Pool) start(ctx context.Context) (*worker, embed.Model, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, embed.Model{}, fmt.Errorf("%w: %w", ErrStart, err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, embed.Model{}, fmt.Errorf("%w: %w", ErrStart, err)
	}
	cmd := exec.Command(p.command, p.cfg.Args...)
	cmd.Env = p.cfg.Env
	cmd.ExtraFiles = []*os.File{reqR, repW} // descriptors 3 and 4
	w := &worker{cmd: cmd, in: reqW, out: repR, stderr: &tail{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = w.stderr, w.stderr
	err = cmd.Start()
	reqR.Close()
	repW.Close()
	if err != nil {
		reqW.Close()
		repR.Close()
		return nil, embed.Model{}, fmt.Errorf("%w: %w", ErrStart, err)
	}
	go func() {
		w.exit = cmd.Wait()
		close(w.done)
	}()
	w.enc, w.dec = gob.NewEncoder(w.in), gob.NewDecoder(w.out)

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		w.kill()
		return nil, embed.Model{}, ErrClosed
	}
	p.live[w] = struct{}{}
	p.mu.Unlock()

	got := make(chan error, 1)
	var h hello
	go func() { got <- w.dec.Decode(&h) }()
	timer := time.NewTimer(p.cfg.StartTimeout)
	defer timer.Stop()
	select {
	case err = <-got:
	case <-timer.C:
		err = fmt.Errorf("no hello within %v", p.cfg.StartTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		p.reap(w)
		return nil, embed.Model{}, fmt.Errorf("%w: %w (%s; stderr: %s)", ErrStart, err, w.exitString(), w.stderr.String())
	}
	if p.model != (embed.Model{}) && h.Model != p.model {
		p.reap(w)
		return nil, embed.Model{}, fmt.Errorf("%w: %v, pool of %v", ErrModel, h.Model, p.model)
	}
	return w, h.Model, nil
}

// kill kills the process (if it still runs) and waits until it is reaped.
func (w *worker) kill() {
	_ = w.cmd.Process.Kill()
	<-w.done
	w.in.Close()
	w.out.Close()
}

func (w *worker) exitString() string {
	select {
	case <-w.done:
		if w.exit == nil {
			return "exit status 0"
		}
		return w.exit.Error()
	default:
		return "running"
	}
}

// reap kills w and forgets it.
func (p *Pool) reap(w *worker) {
	w.kill()
	p.mu.Lock()
	delete(p.live, w)
	p.mu.Unlock()
}

// Faces implements embed.Embedder: the faces of img, found by a worker. A
// worker that dies or sends a malformed reply costs this call an error
// wrapping ErrCrashed; a worker still busy at the deadline (ctx's or
// Config.Timeout, whichever is earlier) is killed and the call fails with
// ErrTimeout and context.DeadlineExceeded. The worker is replaced on the
// next call.
func (p *Pool) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	b := img.Bounds()
	if b.Empty() {
		return nil, fmt.Errorf("%w: empty image", embed.ErrImage)
	}
	if px := int64(b.Dx()) * int64(b.Dy()); px > p.cfg.MaxPixels {
		return nil, fmt.Errorf("%w: %d pixels, a worker takes at most %d", embed.ErrImage, px, p.cfg.MaxPixels)
	}
	rgb, ok := img.(*image.NRGBA)
	if !ok || rgb.Rect.Min != (image.Point{}) || rgb.Stride != 4*b.Dx() {
		rgb = imageutil.ToRGB(img)
	}
	rep, err := p.call(ctx, request{W: b.Dx(), H: b.Dy()}, rgb.Pix[:4*b.Dx()*b.Dy()], nil)
	if err != nil {
		return nil, err
	}
	return rep.Faces, nil
}

// FacesBytes finds the faces of an encoded image (any format imageutil
// decodes) in a worker: the worker decodes it with imageutil's default
// limits, reduced by the smallest integer factor that brings it within
// Config.MaxPixels, and searches the result; boxes come back in full-size
// coordinates (without landmarks when reduced). The decode runs in the
// worker too, so a decode that outlives the deadline is killed with its
// worker (ErrTimeout with context.DeadlineExceeded) instead of running on
// in the caller's process. A file imageutil refuses gives an error
// wrapping imageutil's sentinel (ErrTooLarge, ErrFormat, ErrCorrupt). It
// is safe for concurrent use.
func (p *Pool) FacesBytes(ctx context.Context, data []byte) ([]embed.Face, error) {
	if lim := imageutil.DefaultLimits().MaxBytes; int64(len(data)) > lim {
		return nil, &imageutil.LimitError{Limit: imageutil.LimitBytes, Value: int64(len(data)), Max: lim}
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: no bytes", imageutil.ErrFormat)
	}
	rep, err := p.call(ctx, request{Encoded: len(data), MaxPixels: p.cfg.MaxPixels}, data, nil)
	if err != nil {
		return nil, err
	}
	return rep.Faces, nil
}

// call sends req and its payload to an idle worker (starting one if the
// slot has none) and returns its reply: a remote error becomes a
// *remoteError, a dead worker a *CrashError, a worker still busy at the
// deadline (ctx's or Config.Timeout, whichever is earlier) is killed. When
// req.Look is set, look is called with the look image the worker sends
// before its reply; its error, answered to the worker as stop, is the
// call's error.
func (p *Pool) call(ctx context.Context, req request, payload []byte, look func(image.Image) error) (reply, error) {
	start := time.Now()
	deadline := start.Add(p.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	req.Deadline = deadline

	var w *worker
	select {
	case w = <-p.slots:
	case <-ctx.Done():
		return reply{}, fmt.Errorf("isolate: waiting for a worker: %w", ctx.Err())
	}
	if p.isClosed() {
		p.slots <- w
		return reply{}, ErrClosed
	}
	if w == nil {
		var err error
		if w, _, err = p.start(ctx); err != nil {
			p.slots <- nil
			return reply{}, err
		}
	}

	type result struct {
		rep       reply
		err       error // the pipes broke
		malformed error // the worker broke the protocol
		lookErr   error // look's error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() { done <- r }()
		if r.err = w.enc.Encode(req); r.err != nil {
			return
		}
		if _, r.err = w.in.Write(payload); r.err != nil {
			return
		}
		looked := false
		for {
			var rep reply // gob leaves fields absent from a message as they are
			if r.err = w.dec.Decode(&rep); r.err != nil {
				return
			}
			if rep.Look == nil {
				r.rep = rep
				return
			}
			if !req.Look || look == nil || looked {
				r.malformed = errors.New("a look image not asked for")
				return
			}
			if r.malformed = checkLook(rep.Look); r.malformed != nil {
				return
			}
			looked = true
			l := rep.Look
			verdict := lookGo
			if r.lookErr = callLook(look, &image.NRGBA{Pix: l.Pix, Stride: 4 * l.W, Rect: image.Rect(0, 0, l.W, l.H)}); r.lookErr != nil {
				verdict = lookStop
			}
			if r.err = w.enc.Encode(lookAnswer{Verdict: verdict}); r.err != nil {
				return
			}
		}
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var r result
	select {
	case r = <-done:
	case <-timer.C:
		p.reap(w)
		<-done
		p.slots <- nil
		if p.isClosed() {
			return reply{}, ErrClosed
		}
		return reply{}, fmt.Errorf("%w after %v: %w", ErrTimeout, deadline.Sub(start).Round(time.Millisecond), context.DeadlineExceeded)
	case <-ctx.Done():
		p.reap(w)
		<-done
		p.slots <- nil
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return reply{}, fmt.Errorf("%w after %v: %w", ErrTimeout, time.Since(start).Round(time.Millisecond), context.DeadlineExceeded)
		}
		return reply{}, fmt.Errorf("isolate: %w (worker killed)", ctx.Err())
	}
	if r.err != nil {
		// The pipe broke: the worker died, or is dying.
		select {
		case <-w.done:
		case <-time.After(time.Second):
		}
		exit := w.exitString()
		if exit == "running" {
			exit = "closed its pipes: " + r.err.Error()
		}
		p.reap(w)
		p.slots <- nil
		if p.isClosed() {
			return reply{}, ErrClosed
		}
		return reply{}, &CrashError{Exit: exit, Stderr: w.stderr.String()}
	}
	if r.malformed != nil {
		p.reap(w)
		p.slots <- nil
		return reply{}, &CrashError{Exit: "malformed reply: " + r.malformed.Error(), Stderr: w.stderr.String()}
	}
	if err := p.check(r.rep); err != nil {
		p.reap(w)
		p.slots <- nil
		return reply{}, &CrashError{Exit: "malformed reply: " + err.Error(), Stderr: w.stderr.String()}
	}
	p.slots <- w
	if r.lookErr != nil {
		return reply{}, r.lookErr
	}
	if r.rep.Err != "" {
		return reply{}, &remoteError{msg: r.rep.Err, sentinel: sentinelOf(r.rep.Kind)}
	}
	if r.rep.Faces == nil {
		r.rep.Faces = []embed.Face{}
	}
	return r.rep, nil
}

// callLook calls look on img; a panic in look (which runs on call's
// goroutine, where nothing else would recover it) becomes its error.
func callLook(look func(image.Image) error, img image.Image) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("isolate: look panicked: %v", p)
		}
	}()
	return look(img)
}

// check validates a reply as the Embedder contract promises it.
func (p *Pool) check(rep reply) error {
	if rep.Err != "" && len(rep.Faces) > 0 {
		return errors.New("faces and an error")
	}
	for i, f := range rep.Faces {
		if len(f.Descriptor) != p.model.Dim || !f.Descriptor.Finite() {
			return fmt.Errorf("face %d: descriptor of %d numbers (finite: %t), model dimension %d", i, len(f.Descriptor), f.Descriptor.Finite(), p.model.Dim)
		}
	}
	return nil
}

func (p *Pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// Close stops every worker: idle ones are asked to exit (their request pipe
// closed) and killed if they have not within a second; calls in flight fail
// with ErrClosed. Close is idempotent and waits until every worker process
// is reaped.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	live := make([]*worker, 0, len(p.live))
	for w := range p.live {
		live = append(live, w)
	}
	p.mu.Unlock()
	for _, w := range live {
		w.in.Close()
	}
	grace := time.After(time.Second)
	for _, w := range live {
		select {
		case <-w.done:
		case <-grace:
		}
		p.reap(w)
	}
	return nil
}

// tail keeps the last bytes written to it.
type tail struct {
	mu  sync.Mutex // guards buf
	buf []byte
}

const tailSize = 2048

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
