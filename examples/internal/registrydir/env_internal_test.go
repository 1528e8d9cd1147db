package registrydir

import (
	"testing"
)

// TestEnvOptionsApproximateAbove: $FACEOPTOUT_APPROXIMATE_ABOVE reaches
// the registry configuration's Index.ApproximateAbove; a bad value is an
// error, never a silent default.
func TestEnvOptionsApproximateAbove(t *testing.T) {
	tests := []struct {
		name    string
		value   string // "" leaves the variable unset
		want    int
		wantErr bool
	}{
		{"unset", "", 0, false},
		{"a number", "200000", 200000, false},
		{"zero, spaced", " 0 ", 0, false},
		{"negative", "-1", 0, true},
		{"not a number", "many", 0, true},
		{"a fraction", "1.5", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := func(k string) string {
				if k == ApproximateAboveEnv {
					return tt.value
				}
				return ""
			}
			opts, err := EnvOptions(env)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("EnvOptions: no error for %q", tt.value)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config(t.TempDir(), true, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Index.ApproximateAbove; got != tt.want {
				t.Fatalf("Index.ApproximateAbove = %d, want %d", got, tt.want)
			}
		})
	}
}
