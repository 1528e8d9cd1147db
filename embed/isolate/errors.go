package isolate

import (
	"errors"
	"fmt"
)

var (
	// ErrCrashed reports that the worker holding the image died or sent a
	// malformed reply. The error is a *CrashError.
	ErrCrashed = errors.New("isolate: worker crashed")
	// ErrTimeout reports that the deadline passed before the worker
	// answered; the worker was killed. It comes wrapped with
	// context.DeadlineExceeded.
	ErrTimeout = errors.New("isolate: worker timed out and was killed")
	// ErrStart reports that a worker could not be started or did not say
	// hello (wrong command, a worker that fails to load its models).
	ErrStart = errors.New("isolate: worker did not start")
	// ErrModel reports a worker whose model differs from the Pool's.
	ErrModel = errors.New("isolate: worker of another model")
	// ErrClosed reports a call after Close.
	ErrClosed = errors.New("isolate: pool closed")
)

// CrashError describes a worker that died holding an image. It matches
// errors.Is(err, ErrCrashed).
type CrashError struct {
	// Exit is how the process ended: "signal: segmentation fault",
	// "exit status 2", or "malformed reply: ..." for a worker that answered
	// nonsense (it is then killed).
	Exit string
	// Stderr is the end of what the worker wrote to its standard error.
	Stderr string
}

// Error implements error.
func (e *CrashError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("%v: %s", ErrCrashed, e.Exit)
	}
	return fmt.Sprintf("%v: %s; stderr: %s", ErrCrashed, e.Exit, e.Stderr)
}

// Unwrap returns ErrCrashed.
func (e *CrashError) Unwrap() error { return ErrCrashed }

// remoteError is an error the worker's embedder returned, carried back
// with the embed sentinel it wraps.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }
