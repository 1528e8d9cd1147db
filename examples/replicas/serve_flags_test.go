package main

import (
	"testing"

	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
)

// TestParseServeApproximateAbove: -approximate-above, else
// $FACEOPTOUT_APPROXIMATE_ABOVE, sets the replica's ApproximateAbove; bad
// values are refused.
func TestParseServeApproximateAbove(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		args    []string
		want    int
		wantErr bool
	}{
		{"default exact", "", nil, 0, false},
		{"from the environment", "150000", nil, 150000, false},
		{"the flag wins", "150000", []string{"-approximate-above", "20"}, 20, false},
		{"bad environment", "lots", nil, 0, true},
		{"negative flag", "", []string{"-approximate-above", "-3"}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(registrydir.ApproximateAboveEnv, tt.env)
			f, err := parseServe(append([]string{"-dsn", "postgres://unused"}, tt.args...))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error (approximate above %d)", f.approximateAbove)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.approximateAbove != tt.want {
				t.Fatalf("approximate above %d, want %d", f.approximateAbove, tt.want)
			}
		})
	}
}
