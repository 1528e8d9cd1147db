package main

import (
	"bytes"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"strings"

	"github.com/faceoptout/faceoptout/exclusion"
)

//go:embed templates/*.html
var templateFS embed.FS

// Upload limits: one photo of at most exclusion.MaxPhotoBytes, plus the
// other fields; multipart parts beyond maxMemory go to temporary files that
// are removed when the request ends.
const (
	maxBody   = exclusion.MaxPhotoBytes + 1<<20
	maxMemory = 8 << 20
)

// app is the intake web app. It is safe for concurrent use.
type app struct {
	reg       *exclusion.Registry
	mail      Mailer
	cfg       Config
	secure    bool // BaseURL is https: cookies are Secure
	pages     map[string]*template.Template
	countries []string
	perAddr   *limiter
	perClient *limiter
}

// page is what every template gets besides its own data.
type page struct {
	Title string
	// CSRF is the token the page's forms send back.
	CSRF string
}

// newApp returns the app's handler. reg should require e-mail confirmation
// (exclusion.Config.Confirm.Required): requests then reach review only
// once confirmed through the link mail sends.
func newApp(reg *exclusion.Registry, mail Mailer, cfg Config) (http.Handler, error) {
	if reg == nil || mail == nil {
		return nil, errors.New("intake: nil registry or mailer")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &app{
		reg: reg, mail: mail, cfg: cfg, secure: strings.HasPrefix(cfg.BaseURL, "https:"),
		pages: map[string]*template.Template{}, countries: exclusion.CountryCodes(),
		perAddr: newLimiter(cfg.PerAddress, cfg.Window), perClient: newLimiter(cfg.PerClient, cfg.Window),
	}
	funcs := template.FuncMap{
		"field": func(p formPage, name string) fieldRef { return fieldRef{Errors: p.Errors, Field: name} },
		"svgW":  func(p exclusion.PhotoRecord) int { return svgWidth(p) },
		"svgH": func(p exclusion.PhotoRecord) int {
			if p.Width <= 0 {
				return 0
			}
			return p.Height * svgWidth(p) / p.Width
		},
		"stroke": func(p exclusion.PhotoRecord) int { return max(2, p.Width/100) },
		"font":   func(p exclusion.PhotoRecord) int { return max(12, p.Width/20) },
	}
	for _, name := range []string{"index", "form", "sent", "confirm", "status", "review", "message"} {
		t, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		a.pages[name] = t
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.index)
	mux.HandleFunc("GET /optout", a.form(true))
	mux.HandleFunc("POST /optout", a.submit(true))
	mux.HandleFunc("GET /removal", a.form(false))
	mux.HandleFunc("POST /removal", a.submit(false))
	mux.HandleFunc("GET /confirm", a.confirmPage)
	mux.HandleFunc("POST /confirm", a.confirm)
	mux.HandleFunc("GET /status/{id}", a.status)
	mux.HandleFunc("POST /status/{id}/withdraw", a.requesterWithdraw)
	mux.Handle("GET /review", a.reviewer(a.review))
	mux.Handle("POST /review/{id}/decide", a.reviewer(a.decide))
	mux.Handle("POST /review/{id}/pick", a.reviewer(a.pick))
	// Browsers send cookies and basic-auth credentials with cross-site form
	// posts: refuse those (Sec-Fetch-Site / Origin checks), besides the
	// forms' own CSRF tokens.
	cop := http.NewCrossOriginProtection()
	return headers(cop.Handler(mux)), nil
}

func svgWidth(p exclusion.PhotoRecord) int { return max(1, min(320, p.Width)) }

// headers sets security headers on every response.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

func (a *app) render(w http.ResponseWriter, code int, name string, data any) {
	var b bytes.Buffer
	if err := a.pages[name].ExecuteTemplate(&b, "layout", data); err != nil {
		log.Printf("intake: rendering %s: %v", name, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

// message renders a short page with a title and one paragraph.
func (a *app) message(w http.ResponseWriter, r *http.Request, code int, title, text string) {
	a.render(w, code, "message", struct {
		page
		Text string
	}{page{title, a.csrfToken(w, r)}, text})
}

func (a *app) index(w http.ResponseWriter, r *http.Request) {
	a.render(w, http.StatusOK, "index", page{Title: "Opt out"})
}

// link returns the app's public URL of path with query q.
func (a *app) link(path string, q url.Values) string {
	u := strings.TrimRight(a.cfg.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// dataURL returns a JPEG as a data: URL for an <img>.
func dataURL(jpeg []byte) template.URL {
	return template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(jpeg))
}

// statusText explains a status to the requester.
func statusText(s exclusion.Status) string {
	switch s {
	case exclusion.Unconfirmed:
		return "waiting for you to confirm your e-mail address (follow the link we sent you)"
	case exclusion.Pending:
		return "confirmed, waiting for a reviewer"
	case exclusion.Approved:
		return "approved: it is in effect"
	case exclusion.Rejected:
		return "rejected"
	case exclusion.Withdrawn:
		return "withdrawn"
	}
	return string(s)
}

// fmtErr shortens a registry error for a page.
func fmtErr(err error) string {
	return strings.ReplaceAll(err.Error(), "exclusion: ", "")
}
