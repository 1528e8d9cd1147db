package exclusion

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on a submission. They bound what one request can cost to store and
// to enrol.
const (
	MaxPhotos          = 10        // photos per request
	MaxPhotoBytes      = 20 << 20  // bytes per photo (imageutil's input limit)
	MaxURLs            = 50        // URLs per image removal
	MaxURLLen          = 2048      // bytes per URL
	MaxNameLen         = 200       // characters
	MaxReasonLen       = 4000      // characters
	MaxEmailLen        = 254       // bytes (RFC 5321)
	MaxThreshold       = 1.0       // largest per-request threshold override
	MaxSubmissionBytes = 300 << 20 // bytes of a JSON submission (DecodeSubmission)
)

// Validate checks every field of s and returns a *ValidationError naming
// each bad one (errors.Is(err, ErrInvalidRequest)), or nil. It does not
// decode the photos: Registry.Submit does, and reports undecodable photos
// the same way.
func Validate(s *Submission) error {
	_, err := normalize(s)
	return err
}

// normalize validates s and returns the request it describes, without ids,
// times or photos.
func normalize(s *Submission) (*Request, error) {
	ve := &ValidationError{}
	if s == nil {
		ve.add("request", "missing")
		return nil, ve
	}
	r := &Request{Kind: s.Kind, Status: Pending, Threshold: s.Threshold}
	switch s.Kind {
	case FaceOptOut, ImageRemoval:
	case "":
		ve.add("kind", `missing: "face" or "image"`)
	default:
		ve.add("kind", fmt.Sprintf("unknown kind %q: want \"face\" or \"image\"", clip(string(s.Kind))))
	}
	if c, ok := NormalizeCountry(s.Country); ok {
		r.Country = c
	} else if s.Country == "" {
		ve.add("country", "missing: an ISO 3166-1 alpha-2 code such as DE")
	} else {
		ve.add("country", fmt.Sprintf("%q is not an assigned ISO 3166-1 alpha-2 code", clip(s.Country)))
	}
	r.Reason = strings.TrimSpace(s.Reason)
	if p := checkText(r.Reason, MaxReasonLen, true); p != "" {
		ve.add("reason", p)
	}
	r.Name = strings.TrimSpace(s.Name)
	if p := checkText(r.Name, MaxNameLen, false); p != "" {
		ve.add("name", p)
	}
	r.Email = strings.TrimSpace(s.Email)
	if p := checkEmail(r.Email); p != "" {
		ve.add("email", p)
	}
	r.Phone = strings.TrimSpace(s.Phone)
	if p := checkPhone(r.Phone); p != "" {
		ve.add("phone", p)
	}
	if s.Threshold != 0 && !(s.Threshold > 0 && s.Threshold <= MaxThreshold) {
		ve.add("threshold", fmt.Sprintf("%g: want 0 (the default) or a distance in (0, %g]", s.Threshold, MaxThreshold))
	}

	switch {
	case s.Kind == FaceOptOut && len(s.Photos) == 0:
		ve.add("photos", "a face opt-out needs at least one photo of the face")
	case len(s.Photos) > MaxPhotos:
		ve.add("photos", fmt.Sprintf("%d photos: at most %d", len(s.Photos), MaxPhotos))
	}
	for i, p := range s.Photos {
		f := fmt.Sprintf("photos[%d]", i)
		switch {
		case len(p.Data) == 0:
			ve.add(f, "empty")
		case len(p.Data) > MaxPhotoBytes:
			ve.add(f, fmt.Sprintf("%d bytes: at most %d", len(p.Data), MaxPhotoBytes))
		}
		if p.Face != nil {
			switch {
			case s.Kind != FaceOptOut:
				ve.add(f+".face", "a face is picked only in face opt-outs")
			case p.Face.Empty() || p.Face.Dx() > 1<<16 || p.Face.Dy() > 1<<16:
				ve.add(f+".face", fmt.Sprintf("box %v is empty or too large", *p.Face))
			}
		}
	}

	switch {
	case s.Kind == ImageRemoval && len(s.URLs) == 0:
		ve.add("urls", "an image removal needs the source URL of at least one image")
	case s.Kind == FaceOptOut && len(s.URLs) > 0:
		ve.add("urls", "a face opt-out takes photos, not URLs; file an image removal for specific images")
	case len(s.URLs) > MaxURLs:
		ve.add("urls", fmt.Sprintf("%d URLs: at most %d", len(s.URLs), MaxURLs))
	}
	seen := map[string]bool{}
	for i, u := range s.URLs {
		n, err := NormalizeURL(u)
		if err != nil {
			ve.add(fmt.Sprintf("urls[%d]", i), strings.TrimPrefix(err.Error(), "exclusion: "))
			continue
		}
		if !seen[n] {
			seen[n] = true
			r.URLs = append(r.URLs, n)
		}
	}
	if err := ve.err(); err != nil {
		return nil, err
	}
	return r, nil
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

func checkText(s string, max int, multiline bool) string {
	switch {
	case s == "":
		return "missing"
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	case utf8.RuneCountInString(s) > max:
		return fmt.Sprintf("%d characters: at most %d", utf8.RuneCountInString(s), max)
	}
	for _, c := range s {
		if unicode.IsControl(c) && !(multiline && (c == '\n' || c == '\r' || c == '\t')) {
			return "contains control characters"
		}
	}
	return ""
}

func checkEmail(s string) string {
	if s == "" {
		return "missing"
	}
	if len(s) > MaxEmailLen {
		return fmt.Sprintf("%d bytes: at most %d", len(s), MaxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "not an e-mail address (want name@example.com, without display name)"
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 {
		return "local part longer than 64 bytes"
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, "[") {
		return "domain must be a qualified host name"
	}
	for _, l := range strings.Split(domain, ".") {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return "domain is not a valid host name"
		}
		for _, c := range l {
			if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c > 127) {
				return "domain is not a valid host name"
			}
		}
	}
	return ""
}

// checkPhone wants E.164: "+", a country code not starting with 0, at most
// 15 digits in all, nothing else.
func checkPhone(s string) string {
	if s == "" {
		return "missing"
	}
	if s[0] != '+' {
		return "not in E.164 form (want +<country code><number>, digits only, e.g. +4915123456789)"
	}
	d := s[1:]
	if len(d) < 6 || len(d) > 15 {
		return "not in E.164 form: 6 to 15 digits after the +"
	}
	if d[0] == '0' {
		return "not in E.164 form: a country code never starts with 0"
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return "not in E.164 form (want +<country code><number>, digits only, e.g. +4915123456789)"
		}
	}
	return ""
}

// ErrURL reports a URL that cannot name an image on the web.
var ErrURL = errors.New("exclusion: bad URL")

// NormalizeURL returns the canonical form of an http or https URL, the form
// in which image removals are stored and crawled URLs are compared:
//
//   - scheme and host in lower case, trailing dots of the host removed;
//   - default ports (80 for http, 443 for https) removed;
//   - the fragment and any user information removed;
//   - an empty path becomes "/"; path and query keep their case and
//     escaping.
//
// It returns an error wrapping ErrURL for anything else: other schemes, no
// host, bad ports, control characters, more than MaxURLLen bytes.
func NormalizeURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fmt.Errorf("%w: missing", ErrURL)
	}
	if len(raw) > MaxURLLen {
		return "", fmt.Errorf("%w: %d bytes: at most %d", ErrURL, len(raw), MaxURLLen)
	}
	if !utf8.ValidString(raw) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %s", ErrURL, strings.TrimPrefix(err.Error(), "parse "))
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("%w: scheme %q: want http or https", ErrURL, clip(u.Scheme))
	}
	if u.Opaque != "" {
		return "", fmt.Errorf("%w: want scheme://host/path", ErrURL)
	}
	host := strings.TrimRight(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return "", fmt.Errorf("%w: no host", ErrURL)
	}
	for _, c := range host {
		if c <= ' ' || c == 0x7f || c == '/' || c == '\\' || c == '@' || c == '%' {
			return "", fmt.Errorf("%w: bad host %q", ErrURL, clip(host))
		}
	}
	if strings.Contains(host, ":") {
		if net.ParseIP(host) == nil {
			return "", fmt.Errorf("%w: bad IPv6 host %q", ErrURL, clip(host))
		}
		host = "[" + host + "]"
	}
	port := u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%w: bad port %q", ErrURL, clip(port))
		}
		if !(scheme == "http" && n == 80 || scheme == "https" && n == 443) {
			host += ":" + strconv.Itoa(n)
		}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if strings.ContainsFunc(path+u.RawQuery, func(c rune) bool { return c < ' ' || c == 0x7f }) {
		return "", fmt.Errorf("%w: control characters", ErrURL)
	}
	out := scheme + "://" + host + path
	if u.RawQuery != "" || u.ForceQuery {
		out += "?" + u.RawQuery
	}
	if len(out) > MaxURLLen {
		return "", fmt.Errorf("%w: %d bytes: at most %d", ErrURL, len(out), MaxURLLen)
	}
	return out, nil
}

// DecodeSubmission reads one JSON submission (photos' data in base64) of at
// most MaxSubmissionBytes from r, rejecting unknown fields and trailing
// data, and validates it. Every error wraps ErrInvalidRequest and is a
// *ValidationError.
func DecodeSubmission(r io.Reader) (*Submission, error) {
	dec := json.NewDecoder(io.LimitReader(r, MaxSubmissionBytes+1))
	dec.DisallowUnknownFields()
	var s Submission
	if err := dec.Decode(&s); err != nil {
		ve := &ValidationError{}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			ve.add(te.Field, "wrong type: want "+te.Type.String())
		} else {
			ve.add("request", "not a JSON submission: "+clip(err.Error()))
		}
		return nil, ve
	}
	if dec.More() {
		ve := &ValidationError{}
		ve.add("request", "trailing data after the JSON object")
		return nil, ve
	}
	if _, err := dec.Token(); err != io.EOF {
		ve := &ValidationError{}
		ve.add("request", "trailing data after the JSON object")
		return nil, ve
	}
	if err := Validate(&s); err != nil {
		return nil, err
	}
	return &s, nil
}
