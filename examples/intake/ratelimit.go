package main

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxKeys bounds the keys a limiter tracks; when full, after dropping
// expired ones, new keys are refused.
const maxKeys = 100_000

// limiter allows at most max events per key within a sliding window. It is
// safe for concurrent use.
type limiter struct {
	max    int
	window time.Duration

	mu   sync.Mutex             // guards hits
	hits map[string][]time.Time // per key, the events within the window, oldest first
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, hits: map[string][]time.Time{}}
}

// allow records an event for key at now and reports whether it is within
// the limit. A limiter with max 0 allows everything.
func (l *limiter) allow(key string, now time.Time) bool {
	if l == nil || l.max <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cut := now.Add(-l.window)
	h := l.hits[key]
	for len(h) > 0 && !h[0].After(cut) {
		h = h[1:]
	}
	if len(h) == 0 && len(l.hits) >= maxKeys {
		for k, v := range l.hits {
			if len(v) == 0 || !v[len(v)-1].After(cut) {
				delete(l.hits, k)
			}
		}
		if len(l.hits) >= maxKeys {
			return false
		}
	}
	if len(h) >= l.max {
		l.hits[key] = h
		return false
	}
	l.hits[key] = append(h, now)
	return true
}

// clientKey returns the rate-limit key of the client that sent r: its IP
// address (IPv6: its /64), from the last X-Forwarded-For entry when the app
// runs behind a proxy it trusts.
func clientKey(r *http.Request, trustProxy bool) string {
	s := r.RemoteAddr
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	if trustProxy {
		if xf := r.Header.Values("X-Forwarded-For"); len(xf) > 0 {
			parts := strings.Split(xf[len(xf)-1], ",")
			s = strings.TrimSpace(parts[len(parts)-1])
		}
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return "unparsed:" + s
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
