package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"
)

// mac returns the base64url HMAC-SHA256 of the parts under key, each part
// followed by a zero byte, after a purpose label.
func mac(key []byte, purpose string, parts ...string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(purpose))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// confirmSig signs a confirmation link: request id and expiry (Unix
// seconds).
func confirmSig(key []byte, id string, exp int64) string {
	return mac(key, "confirm", id, strconv.FormatInt(exp, 10))
}

// checkConfirm verifies a confirmation link's fields at now.
func checkConfirm(key []byte, id, exp, sig string, now time.Time) (ok, expired bool) {
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || id == "" || len(id) > 64 {
		return false, false
	}
	if !hmac.Equal([]byte(sig), []byte(confirmSig(key, id, e))) {
		return false, false
	}
	return true, now.Unix() > e
}

// csrfCookie names the cookie holding the browser's CSRF secret.
const csrfCookie = "csrf"

// csrfToken returns the token forms must send back, setting the browser's
// secret cookie when it has none.
func (a *app) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 22 && len(c.Value) <= 64 {
		return mac(a.cfg.Key, "csrf", c.Value)
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || a.secure,
	})
	return mac(a.cfg.Key, "csrf", v)
}

// csrfOK reports whether a form post carries the token of its browser's
// cookie. Call after the form is parsed.
func (a *app) csrfOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return hmac.Equal([]byte(r.FormValue("csrf")), []byte(mac(a.cfg.Key, "csrf", c.Value)))
}
