package main

import (
	"strconv"
	"testing"
	"time"
)

func TestCheckConfirm(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour).Unix()
	e := strconv.FormatInt(exp, 10)
	sig := confirmSig(testKey, "ABC", exp)
	tests := []struct {
		name          string
		id, exp, sig  string
		at            time.Time
		ok, isExpired bool
	}{
		{"valid", "ABC", e, sig, now, true, false},
		{"expired", "ABC", e, sig, now.Add(2 * time.Hour), true, true},
		{"other id", "ABD", e, sig, now, false, false},
		{"other expiry", "ABC", strconv.FormatInt(exp+1, 10), sig, now, false, false},
		{"bad expiry", "ABC", "soon", sig, now, false, false},
		{"empty signature", "ABC", e, "", now, false, false},
		{"empty id", "", e, confirmSig(testKey, "", exp), now, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, expired := checkConfirm(testKey, tc.id, tc.exp, tc.sig, tc.at)
			if ok != tc.ok || expired != tc.isExpired {
				t.Errorf("ok %v expired %v, want %v %v", ok, expired, tc.ok, tc.isExpired)
			}
		})
	}
}

// FuzzCheckConfirm: no link a client makes up passes, and none panics.
func FuzzCheckConfirm(f *testing.F) {
	f.Add("ABC", "1777777777", "x")
	f.Fuzz(func(t *testing.T, id, exp, sig string) {
		ok, _ := checkConfirm(testKey, id, exp, sig, time.Unix(0, 0))
		if ok {
			e, _ := strconv.ParseInt(exp, 10, 64)
			if sig != confirmSig(testKey, id, e) {
				t.Fatalf("accepted a forged link %q %q %q", id, exp, sig)
			}
		}
	})
}
