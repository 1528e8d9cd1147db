package main

import (
	"bytes"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"image"
	"io"
	"log"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
	token     string // reviewer password; "" disables the reviewer pages
	pages     map[string]*template.Template
	countries []string
}

// newApp returns the app's handler.
func newApp(reg *exclusion.Registry, token string) (http.Handler, error) {
	if reg == nil {
		return nil, errors.New("intake: nil registry")
	}
	a := &app{reg: reg, token: token, pages: map[string]*template.Template{}, countries: exclusion.CountryCodes()}
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
	for _, page := range []string{"index", "form", "done", "review"} {
		t, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, err
		}
		a.pages[page] = t
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.index)
	mux.HandleFunc("GET /optout", a.form(true))
	mux.HandleFunc("POST /optout", a.submit(true))
	mux.HandleFunc("GET /removal", a.form(false))
	mux.HandleFunc("POST /removal", a.submit(false))
	mux.Handle("GET /review", a.reviewer(a.review))
	mux.Handle("POST /review/{id}/decide", a.reviewer(a.decide))
	mux.Handle("POST /review/{id}/pick", a.reviewer(a.pick))
	// Browsers send basic-auth credentials with cross-site form posts:
	// refuse those (Sec-Fetch-Site / Origin checks).
	cop := http.NewCrossOriginProtection()
	return headers(cop.Handler(mux)), nil
}

func svgWidth(p exclusion.PhotoRecord) int { return max(1, min(320, p.Width)) }

// headers sets security headers on every response.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// fieldRef is what the "fielderr" template gets.
type fieldRef struct {
	Errors map[string]string
	Field  string
}

type formValues struct {
	Country, Reason, Name, Email, Phone, URLs string
}

type formPage struct {
	Title, Action string
	Face          bool
	Form          formValues
	Errors        map[string]string
	Countries     []string
	MaxMiB        int
}

func (a *app) render(w http.ResponseWriter, code int, page string, data any) {
	var b bytes.Buffer
	if err := a.pages[page].ExecuteTemplate(&b, "layout", data); err != nil {
		log.Printf("intake: rendering %s: %v", page, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

func (a *app) index(w http.ResponseWriter, r *http.Request) {
	a.render(w, http.StatusOK, "index", struct{ Title string }{"Opt out"})
}

func (a *app) newForm(face bool) formPage {
	p := formPage{Face: face, Errors: map[string]string{}, Countries: a.countries, MaxMiB: exclusion.MaxPhotoBytes >> 20}
	if face {
		p.Title, p.Action = "Face opt-out request", "/optout"
	} else {
		p.Title, p.Action = "Image removal request (Digital Services Act)", "/removal"
	}
	return p
}

func (a *app) form(face bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.render(w, http.StatusOK, "form", a.newForm(face))
	}
}

// fieldOf maps a ValidationError field to the form's field.
func fieldOf(f string) string {
	switch {
	case strings.HasPrefix(f, "photos"):
		return "photo"
	case strings.HasPrefix(f, "urls"):
		return "urls"
	case slices.Contains([]string{"country", "reason", "name", "email", "phone"}, f):
		return f
	}
	return "request"
}

// addError adds a problem to a field's message.
func addError(errs map[string]string, field, problem string) {
	if old := errs[field]; old != "" {
		problem = old + "; " + problem
	}
	errs[field] = problem
}

func (a *app) submit(face bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := a.newForm(face)
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseMultipartForm(maxMemory); err != nil {
			code := http.StatusBadRequest
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				code = http.StatusRequestEntityTooLarge
				p.Errors["photo"] = fmt.Sprintf("the upload is larger than %d MiB", exclusion.MaxPhotoBytes>>20)
			} else {
				p.Errors["request"] = "the form could not be read; please send it again"
			}
			a.render(w, code, "form", p)
			return
		}
		defer r.MultipartForm.RemoveAll()
		p.Form = formValues{
			Country: r.FormValue("country"), Reason: r.FormValue("reason"), Name: r.FormValue("name"),
			Email: r.FormValue("email"), Phone: r.FormValue("phone"), URLs: r.FormValue("urls"),
		}
		sub := &exclusion.Submission{
			Kind: exclusion.ImageRemoval, Country: p.Form.Country, Reason: p.Form.Reason,
			Name: p.Form.Name, Email: p.Form.Email, Phone: p.Form.Phone,
		}
		if face {
			sub.Kind = exclusion.FaceOptOut
		} else {
			for _, l := range strings.Split(p.Form.URLs, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					sub.URLs = append(sub.URLs, l)
				}
			}
		}
		data, err := formFile(r, "photo")
		switch {
		case err != nil:
			p.Errors["photo"] = err.Error()
		case data != nil:
			sub.Photos = []exclusion.Photo{{Data: data}}
		}
		// Validate before the (slow) face detection; Submit validates again.
		if err := exclusion.Validate(sub); err != nil || len(p.Errors) > 0 {
			var ve *exclusion.ValidationError
			if errors.As(err, &ve) {
				for _, pr := range ve.Problems {
					addError(p.Errors, fieldOf(pr.Field), urlProblem(pr))
				}
			}
			a.render(w, http.StatusUnprocessableEntity, "form", p)
			return
		}
		req, err := a.reg.Submit(r.Context(), sub, "intake (public form)")
		var ve *exclusion.ValidationError
		switch {
		case errors.As(err, &ve):
			for _, pr := range ve.Problems {
				addError(p.Errors, fieldOf(pr.Field), urlProblem(pr))
			}
			a.render(w, http.StatusUnprocessableEntity, "form", p)
			return
		case err != nil:
			log.Printf("intake: submit: %v", err)
			p.Errors["request"] = "your request could not be stored; nothing was kept. Please try again later."
			a.render(w, http.StatusServiceUnavailable, "form", p)
			return
		}
		a.render(w, http.StatusOK, "done", struct {
			Title, ID, Faces string
			Status           exclusion.Status
		}{"Request received", req.ID, facesSummary(req), req.Status})
	}
}

// urlProblem prefixes a URL's problem with its line number.
func urlProblem(pr exclusion.FieldError) string {
	var i int
	if _, err := fmt.Sscanf(pr.Field, "urls[%d]", &i); err == nil {
		return fmt.Sprintf("line %d: %s", i+1, pr.Problem)
	}
	return pr.Problem
}

// formFile reads an optional uploaded file within the photo size limit; nil
// means no file.
func formFile(r *http.Request, name string) ([]byte, error) {
	f, _, err := r.FormFile(name)
	if errors.Is(err, http.ErrMissingFile) {
		return nil, nil
	}
	if err != nil {
		return nil, errors.New("the file could not be read")
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, exclusion.MaxPhotoBytes+1))
	if err != nil {
		return nil, errors.New("the file could not be read")
	}
	if len(b) > exclusion.MaxPhotoBytes {
		return nil, fmt.Errorf("the file is larger than %d MiB", exclusion.MaxPhotoBytes>>20)
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// facesSummary says what was found in a face opt-out's photos.
func facesSummary(req *exclusion.Request) string {
	if req.Kind != exclusion.FaceOptOut {
		return ""
	}
	var parts []string
	for _, p := range req.Photos {
		switch p.Problem {
		case exclusion.RefusalSeveralFaces:
			parts = append(parts, fmt.Sprintf("%d faces; a reviewer will ask which one is yours", len(p.Faces)))
			continue
		case exclusion.RefusalNoFace:
			parts = append(parts, "no face")
			continue
		}
		for _, f := range p.Faces {
			if f.Enrolled {
				parts = append(parts, "one usable face")
			}
		}
	}
	return strings.Join(parts, "; ")
}

// reviewer wraps a handler with basic auth against the reviewer token and
// passes the user name (the audit log's actor).
func (a *app) reviewer(h func(w http.ResponseWriter, r *http.Request, actor string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.token == "" {
			http.Error(w, "the reviewer pages are disabled (no reviewer token)", http.StatusForbidden)
			return
		}
		user, pass, ok := r.BasicAuth()
		user = strings.TrimSpace(user)
		if !ok || user == "" || len(user) > 100 || subtle.ConstantTimeCompare([]byte(pass), []byte(a.token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="faceoptout reviewers", charset="UTF-8"`)
			http.Error(w, "reviewers only", http.StatusUnauthorized)
			return
		}
		h(w, r, "reviewer:"+user)
	})
}

func (a *app) review(w http.ResponseWriter, r *http.Request, actor string) {
	var pending []*exclusion.Request
	for req, err := range a.reg.Requests(r.Context()) {
		if err != nil {
			log.Printf("intake: listing: %v", err)
			http.Error(w, "the registry cannot be read", http.StatusServiceUnavailable)
			return
		}
		if req.Status == exclusion.Pending {
			pending = append(pending, req)
		}
	}
	slices.SortFunc(pending, func(x, y *exclusion.Request) int { return x.Created.Compare(y.Created) })
	a.render(w, http.StatusOK, "review", struct {
		Title, Flash, Error string
		Requests            []*exclusion.Request
	}{"Review", r.URL.Query().Get("done"), r.URL.Query().Get("error"), pending})
}

// back redirects to the review page with a message.
func back(w http.ResponseWriter, r *http.Request, key, msg string) {
	http.Redirect(w, r, "/review?"+url.Values{key: {msg}}.Encode(), http.StatusSeeOther)
}

func (a *app) decide(w http.ResponseWriter, r *http.Request, actor string) {
	id := r.PathValue("id")
	note := r.PostFormValue("note")
	var err error
	switch action := r.PostFormValue("action"); action {
	case "approve":
		_, err = a.reg.Approve(r.Context(), id, actor, note)
	case "reject":
		_, err = a.reg.Reject(r.Context(), id, actor, note)
	default:
		http.Error(w, "action: approve or reject", http.StatusBadRequest)
		return
	}
	if err != nil {
		back(w, r, "error", fmt.Sprintf("%s: %v", id, err))
		return
	}
	back(w, r, "done", fmt.Sprintf("%s: %sd", id, r.PostFormValue("action")))
}

func (a *app) pick(w http.ResponseWriter, r *http.Request, actor string) {
	id := r.PathValue("id")
	photo, err := strconv.Atoi(r.PostFormValue("photo"))
	if err != nil {
		http.Error(w, "photo: a number", http.StatusBadRequest)
		return
	}
	box, err := parseBox(r.PostFormValue("box"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if _, err := a.reg.Pick(r.Context(), id, photo, box, actor); err != nil {
		back(w, r, "error", fmt.Sprintf("%s: %v", id, err))
		return
	}
	back(w, r, "done", fmt.Sprintf("%s: face at %v picked", id, box))
}

// parseBox parses "x0,y0,x1,y1".
func parseBox(s string) (image.Rectangle, error) {
	var v [4]int
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return image.Rectangle{}, fmt.Errorf("box %q: want x0,y0,x1,y1", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return image.Rectangle{}, fmt.Errorf("box %q: %v", s, err)
		}
		v[i] = n
	}
	return image.Rect(v[0], v[1], v[2], v[3]), nil
}
