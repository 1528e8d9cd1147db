package main

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/faceoptout/faceoptout/examples/internal/exampletest"
	"github.com/faceoptout/faceoptout/exclusion"
)

const token = "s3cret-token"

func newTestServer(t *testing.T) (*httptest.Server, *exclusion.Registry) {
	t.Helper()
	reg, _ := exampletest.Registry(t)
	h, err := newApp(reg, token)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, reg
}

// multipartBody encodes fields and an optional photo.
func multipartBody(t *testing.T, fields map[string]string, photo []byte) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if photo != nil {
		fw, err := mw.CreateFormFile("photo", "me.png")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(photo); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b, mw.FormDataContentType()
}

func post(t *testing.T, srv *httptest.Server, path string, body io.Reader, ctype string, auth bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if auth {
		req.SetBasicAuth("alice", token)
	}
	return do(t, srv, req)
}

func do(t *testing.T, srv *httptest.Server, req *http.Request) (int, string) {
	t.Helper()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
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
	srv, reg := newTestServer(t)
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
		{name: "good face opt-out", path: "/optout", fields: good(), photo: exampletest.Photo(1), code: 200, want: []string{"Request received", "pending", "one usable face"}, accepted: exclusion.FaceOptOut},
		{name: "group photo", path: "/optout", fields: good(), photo: exampletest.Photo(2, 3), code: 200, want: []string{"2 faces; a reviewer will ask"}, accepted: exclusion.FaceOptOut},
		{name: "removal without URLs", path: "/removal", fields: good(), code: 422, errs: []string{"urls"}},
		{name: "removal with a bad URL", path: "/removal", fields: with(good(), "urls", "https://example.org/a.jpg\nftp://x/y.jpg"), code: 422, errs: []string{"urls"}, want: []string{"line 2:"}},
		{name: "good removal", path: "/removal", fields: with(good(), "urls", "https://example.org/a.jpg\n\nhttps://example.org/b.jpg"), code: 200, want: []string{"Request received"}, accepted: exclusion.ImageRemoval},
		{name: "good removal with image", path: "/removal", fields: with(good(), "urls", "https://example.org/c.jpg"), photo: exampletest.PNG(exampletest.Pattern(100, 80, 2)), code: 200, accepted: exclusion.ImageRemoval},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, ctype := multipartBody(t, tc.fields, tc.photo)
			code, page := post(t, srv, tc.path, body, ctype, false)
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
				t.Fatalf("no request id on the confirmation page")
			}
			req, err := reg.Get(context.Background(), m[1])
			if err != nil {
				t.Fatal(err)
			}
			if req.Status != exclusion.Pending || req.Kind != tc.accepted {
				t.Errorf("stored %s %s, want pending %s", req.Status, req.Kind, tc.accepted)
			}
		})
	}
}

func TestUploadLimit(t *testing.T) {
	srv, _ := newTestServer(t)
	big := bytes.Repeat([]byte{0x89}, exclusion.MaxPhotoBytes+2<<20)
	body, ctype := multipartBody(t, good(), big)
	code, page := post(t, srv, "/optout", body, ctype, false)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(page, `id="photo-error"`) {
		t.Errorf("status %d, want 413 with a photo error", code)
	}
}

func TestReview(t *testing.T) {
	srv, reg := newTestServer(t)
	ctx := context.Background()
	one, err := reg.Submit(ctx, exampletest.Submission(exclusion.FaceOptOut, exampletest.Photo(1)), "test")
	if err != nil {
		t.Fatal(err)
	}
	group, err := reg.Submit(ctx, exampletest.Submission(exclusion.FaceOptOut, exampletest.Photo(2, 3)), "test")
	if err != nil {
		t.Fatal(err)
	}
	get := func(auth func(*http.Request)) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/review", nil)
		if auth != nil {
			auth(req)
		}
		return do(t, srv, req)
	}
	form := func(v url.Values) (io.Reader, string) {
		return strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	}

	t.Run("auth", func(t *testing.T) {
		for name, auth := range map[string]func(*http.Request){
			"none":        nil,
			"wrong token": func(r *http.Request) { r.SetBasicAuth("alice", "nope") },
			"no user":     func(r *http.Request) { r.SetBasicAuth("", token) },
		} {
			if code, _ := get(auth); code != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401", name, code)
			}
		}
	})
	t.Run("lists pending with boxes, no image bytes", func(t *testing.T) {
		code, page := get(func(r *http.Request) { r.SetBasicAuth("alice", token) })
		if code != 200 {
			t.Fatalf("status %d", code)
		}
		for _, w := range []string{one.ID, group.ID, "<rect", "several-faces", "pick this face", "Approve", "Reject", "enrolled"} {
			if !strings.Contains(page, w) {
				t.Errorf("review page lacks %q", w)
			}
		}
		for _, bad := range []string{"data:image", "base64", "<img"} {
			if strings.Contains(page, bad) {
				t.Errorf("review page has %q", bad)
			}
		}
	})
	t.Run("cross-site post refused", func(t *testing.T) {
		body, ct := form(url.Values{"action": {"approve"}})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/review/"+one.ID+"/decide", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.SetBasicAuth("alice", token)
		if code, _ := do(t, srv, req); code != http.StatusForbidden {
			t.Errorf("status %d, want 403", code)
		}
		if r, _ := reg.Get(ctx, one.ID); r.Status != exclusion.Pending {
			t.Errorf("status %s after a cross-site post", r.Status)
		}
	})
	t.Run("approve", func(t *testing.T) {
		body, ct := form(url.Values{"action": {"approve"}, "note": {"id checked"}})
		code, page := post(t, srv, "/review/"+one.ID+"/decide", body, ct, true)
		if code != 200 || !strings.Contains(page, one.ID+": approved") {
			t.Fatalf("status %d\n%s", code, page)
		}
		if r, _ := reg.Get(ctx, one.ID); r.Status != exclusion.Approved {
			t.Errorf("status %s, want approved", r.Status)
		}
		var actor string
		for ev := range reg.Audit(ctx, one.ID) {
			actor = ev.Actor
		}
		if actor != "reviewer:alice" {
			t.Errorf("audit actor %q", actor)
		}
	})
	t.Run("approve without a picked face fails", func(t *testing.T) {
		body, ct := form(url.Values{"action": {"approve"}})
		_, page := post(t, srv, "/review/"+group.ID+"/decide", body, ct, true)
		if !strings.Contains(page, "blocks nothing") {
			t.Errorf("no error shown:\n%s", page)
		}
	})
	t.Run("pick then approve", func(t *testing.T) {
		body, ct := form(url.Values{"photo": {"0"}, "box": {"160,40,260,140"}})
		if code, page := post(t, srv, "/review/"+group.ID+"/pick", body, ct, true); code != 200 || !strings.Contains(page, "picked") {
			t.Fatalf("pick: %d\n%s", code, page)
		}
		body, ct = form(url.Values{"action": {"approve"}})
		post(t, srv, "/review/"+group.ID+"/decide", body, ct, true)
		r, _ := reg.Get(ctx, group.ID)
		if r.Status != exclusion.Approved || len(r.EnrolledFaces()) != 1 || r.EnrolledFaces()[0].Box.Min.X != 160 {
			t.Errorf("after pick and approve: %s %+v", r.Status, r.EnrolledFaces())
		}
	})
	t.Run("nothing left", func(t *testing.T) {
		_, page := get(func(r *http.Request) { r.SetBasicAuth("alice", token) })
		if !strings.Contains(page, "Nothing to review") {
			t.Errorf("review page still lists requests")
		}
	})
}

func TestReviewDisabledWithoutToken(t *testing.T) {
	reg, _ := exampletest.Registry(t)
	h, err := newApp(reg, "")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/review", nil)
	req.SetBasicAuth("alice", "")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("status %d, want 403", rec.Code)
	}
}

func TestPages(t *testing.T) {
	srv, _ := newTestServer(t)
	for _, p := range []string{"/", "/optout", "/removal"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+p, nil)
		code, page := do(t, srv, req)
		if code != 200 || !strings.Contains(page, "<form") && p != "/" {
			t.Errorf("%s: %d", p, code)
		}
	}
}
