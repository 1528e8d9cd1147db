package onnx

import (
	"errors"
	"testing"
)

// denormal is a float32 below the smallest normal number (1.18e-38).
var denormal = float32(1e-39)

// TestWithDenormalsFlushed: inside f a denormal input reads as zero, and
// the thread's settings are back after it, even when f fails.
func TestWithDenormalsFlushed(t *testing.T) {
	one := float32(1)
	if denormal*one == 0 {
		t.Fatal("denormals already flushed before the call")
	}
	stop := errors.New("stop")
	var inside float32 = -1
	err := withDenormalsFlushed(func() error {
		inside = denormal * one
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want f's", err)
	}
	if inside != 0 {
		t.Errorf("inside: 1e-39 * 1 = %g, want 0 (flushed)", inside)
	}
	if denormal*one == 0 {
		t.Error("after: denormals still flushed")
	}
}
