package isolate

import (
	"fmt"
	"time"
)

// Config configures a Pool. The zero value of a field means its default.
type Config struct {
	// Command is the worker executable; empty means the running program
	// (os.Executable).
	Command string
	// Args are the worker's arguments (without the program name): how the
	// program knows it is to run as a worker.
	Args []string
	// Env is the worker's environment; nil means the caller's.
	Env []string
	// Workers is how many worker processes run at once (each holds one
	// image at a time); 0 means 1.
	Workers int
	// Timeout bounds each call (Faces, FacesBytes, FacesBytesWith: decode,
	// look and scans) besides ctx's deadline; 0 means 30 seconds.
	Timeout time.Duration
	// StartTimeout bounds a worker's start, until its hello (loading
	// models); 0 means 60 seconds.
	StartTimeout time.Duration
	// MaxPixels is the largest image Faces sends (larger ones are refused
	// before any copy), and the pixel budget within which the workers
	// decode FacesBytes's and FacesBytesWith's images; 0 means 40,000,000.
	MaxPixels int64
}

// DefaultConfig returns the defaults: the running program as the worker
// command, one worker, 30-second calls, 60-second starts.
func DefaultConfig() Config {
	return Config{Workers: 1, Timeout: 30 * time.Second, StartTimeout: time.Minute, MaxPixels: 40_000_000}
}

// withDefaults fills zero fields and rejects negative ones.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if c.Workers < 0 || c.Timeout < 0 || c.StartTimeout < 0 || c.MaxPixels < 0 {
		return c, fmt.Errorf("isolate: negative Config field: %+v", c)
	}
	if c.Workers == 0 {
		c.Workers = d.Workers
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = d.StartTimeout
	}
	if c.MaxPixels == 0 {
		c.MaxPixels = d.MaxPixels
	}
	return c, nil
}
