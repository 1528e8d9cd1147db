package exclusion_test

import (
	"errors"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// A FilterConfig's zero fields are its defaults, switches named for what
// they turn off turn it off, and values outside their range are refused
// rather than read as a switch.
func TestFilterConfigIdiom(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	tests := []struct {
		name string
		cfg  exclusion.FilterConfig
		ok   bool
	}{
		{name: "zero value", cfg: exclusion.FilterConfig{}, ok: true},
		{name: "defaults spelled out", cfg: exclusion.DefaultFilterConfig(), ok: true},
		{name: "no timeout, no pHash", cfg: exclusion.FilterConfig{NoTimeout: true, NoPHash: true}, ok: true},
		{name: "negative timeout", cfg: exclusion.FilterConfig{Timeout: -time.Second}},
		{name: "negative match distance", cfg: exclusion.FilterConfig{MatchDistance: -1}},
		{name: "match distance above 64 bits", cfg: exclusion.FilterConfig{MatchDistance: 65}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := exclusion.NewFilter(reg, emb, tc.cfg)
			if tc.ok && err != nil {
				t.Fatalf("NewFilter: %v", err)
			}
			if !tc.ok && !errors.Is(err, exclusion.ErrPolicy) {
				t.Fatalf("NewFilter: %v, want ErrPolicy", err)
			}
		})
	}
}
