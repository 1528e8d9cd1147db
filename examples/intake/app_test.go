package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/examples/internal/exampletest"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

func fakeEnv(t *testing.T, opts ...func(*Config)) *env {
	t.Helper()
	return newEnv(t, &exclusiontest.Embedder{}, opts...)
}

func good() map[string]string {
	return map[string]string{"country": "DE", "reason": "Please never index my face.", "name": "Jane Doe", "email": "jane@example.org", "phone": "+4915123456789"}
}

func with(m map[string]string, k, v string) map[string]string {
	c := map[string]string{}
	for a, b := range m {
		c[a] = b
	}
	c[k] = v
	return c
}

var idRE = regexp.MustCompile(`id="request-id">([A-Z0-9]+)<`)

func TestForms(t *testing.T) {
	e := fakeEnv(t, func(c *Config) { c.PerAddress, c.PerClient = 0, 0 })
	tests := []struct {
		name     string
		path     string
		fields   map[string]string
		photo    []byte
		code     int
		errs     []string // fields that must show an error
		noErrs   []string // fields that must not
		want     []string // substrings of the page
		accepted exclusion.Kind
	}{
		{name: "empty face form", path: "/optout", fields: map[string]string{}, code: 422,
			errs: []string{"country", "reason", "name", "email", "phone", "photo"}},
		{name: "bad fields keep the good ones", path: "/optout", fields: with(with(good(), "email", "not-an-email"), "country", "XX"), photo: exampletest.Photo(1), code: 422,
			errs: []string{"email", "country"}, noErrs: []string{"name", "phone", "reason", "photo"}, want: []string{`value="Jane Doe"`}},
		{name: "not an image", path: "/optout", fields: good(), photo: []byte("hello"), code: 422, errs: []string{"photo"}, noErrs: []string{"email"}},
		{name: "no face in the photo", path: "/optout", fields: good(), photo: exampletest.PNG(exampletest.Pattern(10, 10, 1)), code: 422, errs: []string{"photo"}},
		{name: "good face opt-out", path: "/optout", fields: good(), photo: exampletest.Photo(1), code: 200, want: []string{"Request received", "check your e-mail", "one usable face", "/status/"}, accepted: exclusion.FaceOptOut},
		{name: "group photo", path: "/optout", fields: good(), photo: exampletest.Photo(2, 3), code: 200, want: []string{"2 faces; a reviewer will ask"}, accepted: exclusion.FaceOptOut},
		{name: "removal without URLs", path: "/removal", fields: good(), code: 422, errs: []string{"urls"}},
		{name: "removal with a bad URL", path: "/removal", fields: with(good(), "urls", "https://example.org/a.jpg\nftp://x/y.jpg"), code: 422, errs: []string{"urls"}, want: []string{"line 2:"}},
		{name: "good removal", path: "/removal", fields: with(good(), "urls", "https://example.org/a.jpg\n\nhttps://example.org/b.jpg"), code: 200, want: []string{"Request received"}, accepted: exclusion.ImageRemoval},
		{name: "good removal with image", path: "/removal", fields: with(good(), "urls", "https://example.org/c.jpg"), photo: exampletest.PNG(exampletest.Pattern(100, 80, 2)), code: 200, accepted: exclusion.ImageRemoval},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, page := e.submit(t, tc.path, tc.fields, tc.photo)
			if code != tc.code {
				t.Fatalf("status %d, want %d\n%s", code, tc.code, page)
			}
			for _, f := range tc.errs {
				if !strings.Contains(page, `id="`+f+`-error"`) {
					t.Errorf("no error shown for %s", f)
				}
			}
			for _, f := range tc.noErrs {
				if strings.Contains(page, `id="`+f+`-error"`) {
					t.Errorf("an error is shown for %s", f)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if tc.accepted == "" {
				return
			}
			m := idRE.FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("no request id on the page")
			}
			req, err := e.reg.Get(context.Background(), m[1])
			if err != nil {
				t.Fatal(err)
			}
			if req.Status != exclusion.Unconfirmed || req.Kind != tc.accepted {
				t.Errorf("stored %s %s, want unconfirmed %s", req.Status, req.Kind, tc.accepted)
			}
		})
	}
}

func TestUploadLimit(t *testing.T) {
	e := fakeEnv(t)
	big := bytes.Repeat([]byte{0x89}, exclusion.MaxPhotoBytes+2<<20)
	code, page := e.submit(t, "/optout", good(), big)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(page, `id="photo-error"`) {
		t.Errorf("status %d, want 413 with a photo error", code)
	}
}

func TestCSRF(t *testing.T) {
	e := fakeEnv(t)
	other := fakeEnv(t)
	foreign := other.csrf(t, "/optout", false) // a token for another browser's cookie
	e.csrf(t, "/optout", false)                // this browser's cookie
	tests := []struct {
		name  string
		token string
	}{
		{"no token", ""},
		{"wrong token", "AAAA"},
		{"another browser's token", foreign},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := with(good(), "csrf", tc.token)
			body, ctype := multipartBody(t, f, exampletest.Photo(1))
			code, _ := e.post(t, "/optout", body, ctype, false)
			if code != http.StatusForbidden {
				t.Errorf("status %d, want 403", code)
			}
		})
	}
	t.Run("cross-site post", func(t *testing.T) {
		tok := e.csrf(t, "/optout", false)
		body, ctype := multipartBody(t, with(good(), "csrf", tok), exampletest.Photo(1))
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/optout", body)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if code, _ := e.do(t, req); code != http.StatusForbidden {
			t.Errorf("status %d, want 403", code)
		}
	})
	n := 0
	for range e.reg.Requests(context.Background()) {
		n++
	}
	if n != 0 {
		t.Errorf("%d requests stored", n)
	}
}

// TestConfirmation follows a request from submission to review: it cannot
// be reviewed before its address is confirmed.
func TestConfirmation(t *testing.T) {
	e := fakeEnv(t)
	ctx := context.Background()
	code, page := e.submit(t, "/optout", good(), exampletest.Photo(1))
	if code != 200 {
		t.Fatalf("submit: %d\n%s", code, page)
	}
	id := idRE.FindStringSubmatch(page)[1]
	link := e.confirmLink(t, "jane@example.org")
	u, _ := url.Parse(link)
	q := u.Query()

	t.Run("not reviewable before confirmation", func(t *testing.T) {
		_, page := e.get(t, "/review", true)
		if strings.Contains(page, id) || !strings.Contains(page, "1 waiting for confirmation") {
			t.Errorf("the review page lists the unconfirmed request")
		}
		tok := e.csrf(t, "/optout", false) // the same cookie, the same token
		code, page := e.postForm(t, "/review/"+id+"/decide", url.Values{"csrf": {tok}, "action": {"approve"}}, true)
		if code != 200 || !strings.Contains(page, "status change not allowed") {
			t.Errorf("approving an unconfirmed request: %d, no error shown", code)
		}
		if r, _ := e.reg.Get(ctx, id); r.Status != exclusion.Unconfirmed {
			t.Errorf("an unconfirmed request was %s", r.Status)
		}
	})
	t.Run("bad links", func(t *testing.T) {
		exp, _ := strconv.ParseInt(q.Get("exp"), 10, 64)
		past := time.Now().Add(-time.Minute).Unix()
		other := flipFirst(id) // another request's id: never this one's
		tampered := flipFirst(q.Get("sig"))
		tests := []struct {
			name   string
			v      url.Values
			code   int
			marker string
		}{
			{"tampered signature", url.Values{"id": {id}, "exp": {q.Get("exp")}, "sig": {tampered}}, 400, "not valid"},
			{"other id", url.Values{"id": {other}, "exp": {q.Get("exp")}, "sig": {q.Get("sig")}}, 400, "not valid"},
			{"later expiry", url.Values{"id": {id}, "exp": {strconv.FormatInt(exp+3600, 10)}, "sig": {q.Get("sig")}}, 400, "not valid"},
			{"expired", url.Values{"id": {id}, "exp": {strconv.FormatInt(past, 10)}, "sig": {confirmSig(testKey, id, past)}}, 410, "expired"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				code, page := e.get(t, "/confirm?"+tc.v.Encode(), false)
				if code != tc.code || !strings.Contains(page, tc.marker) {
					t.Errorf("GET: %d, want %d with %q", code, tc.code, tc.marker)
				}
				tok := e.csrf(t, "/optout", false)
				tc.v.Set("csrf", tok)
				if code, _ := e.postForm(t, "/confirm", tc.v, false); code != tc.code {
					t.Errorf("POST: %d, want %d", code, tc.code)
				}
			})
		}
		if r, _ := e.reg.Get(ctx, id); r.Status != exclusion.Unconfirmed {
			t.Errorf("a bad link made the request %s", r.Status)
		}
	})
	t.Run("opening the link does not confirm", func(t *testing.T) {
		if code, page := e.get(t, u.Path+"?"+u.RawQuery, false); code != 200 || !strings.Contains(page, `id="confirm"`) {
			t.Fatalf("GET link: %d", code)
		}
		if r, _ := e.reg.Get(ctx, id); r.Status != exclusion.Unconfirmed {
			t.Errorf("a GET made the request %s", r.Status)
		}
	})
	t.Run("confirm", func(t *testing.T) {
		code, page := e.confirm(t, link)
		if code != 200 || !strings.Contains(page, "is confirmed") || !strings.Contains(page, `data-status="pending"`) {
			t.Fatalf("confirm: %d\n%s", code, page)
		}
		// A second press shows the same page.
		if code, page := e.confirm(t, link); code != 200 || !strings.Contains(page, `data-status="pending"`) {
			t.Errorf("second confirm: %d", code)
		}
		var actions []exclusion.Action
		for ev, err := range e.reg.Audit(ctx, id) {
			if err != nil {
				t.Fatal(err)
			}
			actions = append(actions, ev.Action)
		}
		if len(actions) != 2 || actions[1] != exclusion.ActionConfirm {
			t.Errorf("audit log %v, want submit, confirm", actions)
		}
		if _, page := e.get(t, "/review", true); !strings.Contains(page, id) {
			t.Errorf("the review page does not list the confirmed request")
		}
	})
}

func TestRateLimits(t *testing.T) {
	t.Run("per address", func(t *testing.T) {
		e := fakeEnv(t, func(c *Config) { c.PerAddress, c.PerClient = 2, 0 })
		for i := range 3 {
			code, page := e.submit(t, "/optout", good(), exampletest.Photo(1))
			want := 200
			if i == 2 {
				want = http.StatusTooManyRequests
			}
			if code != want {
				t.Fatalf("request %d: %d, want %d\n%s", i+1, code, want, page)
			}
			if i == 2 && !strings.Contains(page, `id="email-error"`) {
				t.Errorf("no error on the e-mail field")
			}
		}
		if code, _ := e.submit(t, "/optout", with(good(), "email", "other@example.org"), exampletest.Photo(1)); code != 200 {
			t.Errorf("another address: %d, want 200", code)
		}
	})
	t.Run("per client", func(t *testing.T) {
		e := fakeEnv(t, func(c *Config) { c.PerAddress, c.PerClient = 0, 2 })
		for i := range 3 {
			code, _ := e.submit(t, "/optout", with(good(), "email", "p"+strconv.Itoa(i)+"@example.org"), exampletest.Photo(1))
			if want := map[bool]int{true: 429, false: 200}[i == 2]; code != want {
				t.Fatalf("request %d: %d, want %d", i+1, code, want)
			}
		}
	})
}

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(2, time.Hour)
	tests := []struct {
		name string
		key  string
		at   time.Duration
		want bool
	}{
		{"first", "a", 0, true},
		{"second", "a", time.Minute, true},
		{"third within the window", "a", 2 * time.Minute, false},
		{"other key", "b", 2 * time.Minute, true},
		{"after the first left the window", "a", time.Hour + time.Second, true},
		{"again full", "a", time.Hour + 2*time.Second, false},
	}
	for _, tc := range tests {
		if got := l.allow(tc.key, t0.Add(tc.at)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if !newLimiter(0, 0).allow("x", t0) {
		t.Error("a limit of 0 refused")
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct {
		name, remote, xff string
		trust             bool
		want              string
	}{
		{"ipv4", "192.0.2.1:1234", "", false, "192.0.2.1"},
		{"ipv6 /64", "[2001:db8:1:2:3:4:5:6]:80", "", false, "2001:db8:1:2::/64"},
		{"forwarded, not trusted", "10.0.0.1:1", "198.51.100.7", false, "10.0.0.1"},
		{"forwarded, trusted: last entry", "10.0.0.1:1", "203.0.113.9, 198.51.100.7", true, "198.51.100.7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := clientKey(r, tc.trust); got != tc.want {
				t.Errorf("%q, want %q", got, tc.want)
			}
		})
	}
}

// TestReview: the reviewer sees thumbnails of confirmed face opt-outs, picks
// and decides; no thumbnail is left after the decisions, neither in the
// thumbnail directory nor in the registry file.
func TestReview(t *testing.T) {
	e := fakeEnv(t)
	ctx := context.Background()
	submit := func(photo []byte) string {
		t.Helper()
		req, err := e.reg.Submit(ctx, exampletest.Submission(exclusion.FaceOptOut, photo), "test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.reg.Confirm(ctx, req.ID, "test"); err != nil {
			t.Fatal(err)
		}
		return req.ID
	}
	one, group, third := submit(exampletest.Photo(1)), submit(exampletest.Photo(2, 3)), submit(exampletest.Photo(4))
	var sealed [][]byte
	for _, id := range []string{one, group, third} {
		b, err := os.ReadFile(filepath.Join(e.thumbDir, id+".sealed"))
		if err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, b)
	}
	decide := func(id, action string) (int, string) {
		tok := e.csrf(t, "/review", true)
		return e.postForm(t, "/review/"+id+"/decide", url.Values{"csrf": {tok}, "action": {action}, "note": {"checked"}}, true)
	}

	t.Run("auth", func(t *testing.T) {
		for name, auth := range map[string]func(*http.Request){
			"none":        nil,
			"wrong token": func(r *http.Request) { r.SetBasicAuth("alice", "nope") },
			"no user":     func(r *http.Request) { r.SetBasicAuth("", token) },
		} {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/review", nil)
			if auth != nil {
				auth(req)
			}
			if code, _ := e.do(t, req); code != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401", name, code)
			}
		}
	})
	t.Run("lists pending with boxes and thumbnails", func(t *testing.T) {
		code, page := e.get(t, "/review", true)
		if code != 200 {
			t.Fatalf("status %d", code)
		}
		for _, w := range []string{one, group, "<rect", "several-faces", "pick this face", "Approve", "Reject", "Withdraw", "enrolled", `<img class="thumb" src="data:image/jpeg;base64,`} {
			if !strings.Contains(page, w) {
				t.Errorf("review page lacks %q", w)
			}
		}
		if n := strings.Count(page, `<img class="thumb"`); n != 4 {
			t.Errorf("%d thumbnails, want 4 (one per face)", n)
		}
	})
	t.Run("post without token refused", func(t *testing.T) {
		e.postForm(t, "/review/"+one+"/decide", url.Values{"action": {"approve"}}, true)
		if r, _ := e.reg.Get(ctx, one); r.Status != exclusion.Pending {
			t.Errorf("status %s after a post without token", r.Status)
		}
	})
	t.Run("approve", func(t *testing.T) {
		code, page := decide(one, "approve")
		if code != 200 || !strings.Contains(page, one+": approved") {
			t.Fatalf("status %d\n%s", code, page)
		}
		r, _ := e.reg.Get(ctx, one)
		if r.Status != exclusion.Approved || r.Thumbnails != 0 {
			t.Errorf("%s with %d thumbnails, want approved with none", r.Status, r.Thumbnails)
		}
		var actors, actions []string
		for ev := range e.reg.Audit(ctx, one) {
			actors, actions = append(actors, ev.Actor), append(actions, string(ev.Action))
		}
		if want := "submit confirm approve delete-thumbnails"; strings.Join(actions, " ") != want {
			t.Errorf("audit actions %v, want %s", actions, want)
		}
		if actors[2] != "reviewer:alice" {
			t.Errorf("audit actor %q", actors[2])
		}
	})
	t.Run("approve without a picked face fails", func(t *testing.T) {
		_, page := decide(group, "approve")
		if !strings.Contains(page, "blocks nothing") {
			t.Errorf("no error shown:\n%s", page)
		}
	})
	t.Run("pick then approve", func(t *testing.T) {
		tok := e.csrf(t, "/review", true)
		if code, page := e.postForm(t, "/review/"+group+"/pick", url.Values{"csrf": {tok}, "photo": {"0"}, "box": {"160,40,260,140"}}, true); code != 200 || !strings.Contains(page, "picked") {
			t.Fatalf("pick: %d\n%s", code, page)
		}
		decide(group, "approve")
		r, _ := e.reg.Get(ctx, group)
		if r.Status != exclusion.Approved || len(r.EnrolledFaces()) != 1 || r.EnrolledFaces()[0].Box.Min.X != 160 {
			t.Errorf("after pick and approve: %s %+v", r.Status, r.EnrolledFaces())
		}
	})
	t.Run("reject", func(t *testing.T) {
		decide(third, "reject")
		if r, _ := e.reg.Get(ctx, third); r.Status != exclusion.Rejected || r.Thumbnails != 0 {
			t.Errorf("%s with %d thumbnails", r.Status, r.Thumbnails)
		}
	})
	t.Run("withdraw an approved request", func(t *testing.T) {
		_, page := e.get(t, "/review", true)
		if !strings.Contains(page, `id="approved-`+one+`"`) {
			t.Fatalf("approved request not listed")
		}
		decide(one, "withdraw")
		if r, _ := e.reg.Get(ctx, one); r.Status != exclusion.Withdrawn {
			t.Errorf("status %s, want withdrawn", r.Status)
		}
	})
	t.Run("no thumbnail left", func(t *testing.T) {
		if ents, _ := os.ReadDir(e.thumbDir); len(ents) != 0 {
			t.Errorf("%d files left in the thumbnail directory", len(ents))
		}
		if _, page := e.get(t, "/review", true); !strings.Contains(page, "Nothing to review") {
			t.Errorf("review page still lists requests")
		}
		db, err := os.ReadFile(e.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range sealed {
			if bytes.Contains(db, s[len(s)-32:]) {
				t.Errorf("the registry file holds the sealed thumbnails of request %d", i)
			}
		}
	})
	t.Run("decision mail", func(t *testing.T) {
		n := 0
		for _, m := range e.sink.Messages() {
			if strings.Contains(string(m.Data), "was approved") {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d approval mails, want 2", n)
		}
	})
}

func TestStatusPage(t *testing.T) {
	e := fakeEnv(t)
	ctx := context.Background()
	code, page := e.submit(t, "/optout", good(), exampletest.Photo(1))
	if code != 200 {
		t.Fatal(code)
	}
	id := idRE.FindStringSubmatch(page)[1]
	if code, page := e.get(t, "/status/"+id, false); code != 200 || !strings.Contains(page, `data-status="unconfirmed"`) || strings.Contains(page, "Jane") {
		t.Errorf("status page: %d, want unconfirmed without personal data\n%s", code, page)
	}
	if code, _ := e.get(t, "/status/NOSUCHID", false); code != 404 {
		t.Errorf("unknown id: %d, want 404", code)
	}
	tok := e.csrf(t, "/status/"+id, false)
	if code, page := e.postForm(t, "/status/"+id+"/withdraw", url.Values{"csrf": {tok}}, false); code != 200 || !strings.Contains(page, `data-status="withdrawn"`) {
		t.Errorf("withdraw: %d\n%s", code, page)
	}
	r, _ := e.reg.Get(ctx, id)
	if r.Status != exclusion.Withdrawn || r.Thumbnails != 0 {
		t.Errorf("%s with %d thumbnails, want withdrawn with none", r.Status, r.Thumbnails)
	}
}

func TestMailFailureWithdraws(t *testing.T) {
	e := fakeEnv(t)
	_ = e.sink.Close() // the mail server is down
	code, page := e.submit(t, "/optout", good(), exampletest.Photo(1))
	if code != http.StatusServiceUnavailable || !strings.Contains(page, `id="email-error"`) {
		t.Fatalf("status %d, want 503 with an e-mail error", code)
	}
	for req, err := range e.reg.Requests(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if req.Status != exclusion.Withdrawn || req.Thumbnails != 0 {
			t.Errorf("request %s is %s with %d thumbnails, want withdrawn with none", req.ID, req.Status, req.Thumbnails)
		}
	}
}

func TestReviewDisabledWithoutToken(t *testing.T) {
	e := fakeEnv(t, func(c *Config) { c.ReviewerToken = "" })
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/review", nil)
	req.SetBasicAuth("alice", "")
	if code, _ := e.do(t, req); code != http.StatusForbidden {
		t.Errorf("status %d, want 403", code)
	}
}

func TestPages(t *testing.T) {
	e := fakeEnv(t)
	for _, p := range []string{"/", "/optout", "/removal"} {
		code, page := e.get(t, p, false)
		if code != 200 || !strings.Contains(page, "<form") && p != "/" {
			t.Errorf("%s: %d", p, code)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	ok := DefaultConfig()
	ok.Key, ok.BaseURL, ok.From = testKey, "https://optout.example.com", "a@b"
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"short key", func(c *Config) { c.Key = c.Key[:16] }},
		{"no base URL", func(c *Config) { c.BaseURL = "" }},
		{"relative base URL", func(c *Config) { c.BaseURL = "/x" }},
		{"no sender", func(c *Config) { c.From = "" }},
		{"negative limit", func(c *Config) { c.PerClient = -1 }},
		{"limit without window", func(c *Config) { c.Window = 0 }},
	}
	if err := ok.validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			if err := c.validate(); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// flipFirst returns s with its first character replaced by another one of
// the same alphabet, so the result always differs from s.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
