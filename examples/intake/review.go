package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"image"
	"log"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/faceoptout/faceoptout/exclusion"
)

// reviewer wraps a handler with basic auth against the reviewer token and
// passes the user name (the audit log's actor).
func (a *app) reviewer(h func(w http.ResponseWriter, r *http.Request, actor string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.ReviewerToken == "" {
			http.Error(w, "the reviewer pages are disabled (no reviewer token)", http.StatusForbidden)
			return
		}
		user, pass, ok := r.BasicAuth()
		user = strings.TrimSpace(user)
		if !ok || user == "" || len(user) > 100 || subtle.ConstantTimeCompare([]byte(pass), []byte(a.cfg.ReviewerToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="faceoptout reviewers", charset="UTF-8"`)
			http.Error(w, "reviewers only", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
			if !a.csrfOK(r) {
				back(w, r, "error", "the page expired; please try again")
				return
			}
		}
		h(w, r, "reviewer:"+user)
	})
}

// reviewItem is one request on the review page, with its face thumbnails.
type reviewItem struct {
	*exclusion.Request
	thumbs map[[2]int]template.URL
	// NoThumbs says why a face opt-out shows no thumbnails.
	NoThumbs string
}

// Thumb returns the data: URL of the thumbnail of face f of photo p, or "".
func (it reviewItem) Thumb(p, f int) template.URL { return it.thumbs[[2]int{p, f}] }

type reviewPage struct {
	page
	Flash, Error string
	Requests     []reviewItem
	Approved     []*exclusion.Request
	Unconfirmed  int
}

func (a *app) review(w http.ResponseWriter, r *http.Request, actor string) {
	p := reviewPage{page: page{Title: "Review", CSRF: a.csrfToken(w, r)}, Flash: r.URL.Query().Get("done"), Error: r.URL.Query().Get("error")}
	for req, err := range a.reg.Requests(r.Context()) {
		if err != nil {
			log.Printf("intake: listing: %v", err)
			http.Error(w, "the registry cannot be read", http.StatusServiceUnavailable)
			return
		}
		switch req.Status {
		case exclusion.Pending:
			p.Requests = append(p.Requests, a.item(r.Context(), req))
		case exclusion.Approved:
			p.Approved = append(p.Approved, req)
		case exclusion.Unconfirmed:
			p.Unconfirmed++
		}
	}
	slices.SortFunc(p.Requests, func(x, y reviewItem) int { return x.Created.Compare(y.Created) })
	slices.SortFunc(p.Approved, func(x, y *exclusion.Request) int { return y.Decided.Compare(x.Decided) })
	a.render(w, http.StatusOK, "review", p)
}

// item loads the thumbnails of a pending face opt-out.
func (a *app) item(ctx context.Context, req *exclusion.Request) reviewItem {
	it := reviewItem{Request: req, thumbs: map[[2]int]template.URL{}}
	if req.Kind != exclusion.FaceOptOut {
		return it
	}
	ts, err := a.reg.Thumbnails(ctx, req.ID)
	switch {
	case errors.Is(err, exclusion.ErrNotFound):
		it.NoThumbs = "no face thumbnails are kept for this request"
	case err != nil:
		log.Printf("intake: thumbnails of %s: %v", req.ID, err)
		it.NoThumbs = "the face thumbnails cannot be read: " + fmtErr(err)
	}
	for _, t := range ts {
		it.thumbs[[2]int{t.Photo, t.Face}] = dataURL(t.JPEG)
	}
	return it
}

// back redirects to the review page with a message.
func back(w http.ResponseWriter, r *http.Request, key, msg string) {
	http.Redirect(w, r, "/review?"+url.Values{key: {msg}}.Encode(), http.StatusSeeOther)
}

func (a *app) decide(w http.ResponseWriter, r *http.Request, actor string) {
	id := r.PathValue("id")
	note := r.PostFormValue("note")
	action := r.PostFormValue("action")
	var req *exclusion.Request
	var err error
	switch action {
	case "approve":
		req, err = a.reg.Approve(r.Context(), id, actor, note)
	case "reject":
		req, err = a.reg.Reject(r.Context(), id, actor, note)
	case "withdraw":
		req, err = a.reg.Withdraw(r.Context(), id, actor, note)
	default:
		http.Error(w, "action: approve, reject or withdraw", http.StatusBadRequest)
		return
	}
	if err != nil {
		back(w, r, "error", fmt.Sprintf("%s: %s", id, fmtErr(err)))
		return
	}
	a.notify(r.Context(), req)
	back(w, r, "done", fmt.Sprintf("%s: %s", id, req.Status))
}

// notify mails the requester a decision; a failure is logged (the status
// page shows the decision too).
func (a *app) notify(ctx context.Context, req *exclusion.Request) {
	var what string
	switch req.Status {
	case exclusion.Approved:
		what = "was approved: it is in effect from now on"
	case exclusion.Rejected:
		what = "was rejected"
	case exclusion.Withdrawn:
		what = "was withdrawn"
	default:
		return
	}
	body := fmt.Sprintf("Hello %s,\n\nyour request %s %s.\n\nIts status: %s\n", req.Name, req.ID, what, a.link("/status/"+req.ID, nil))
	if err := a.mail.Send(context.WithoutCancel(ctx), Mail{To: req.Email, Subject: "Your request " + req.ID, Body: body}); err != nil {
		log.Printf("intake: decision mail for %s: %v", req.ID, err)
	}
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
		back(w, r, "error", fmt.Sprintf("%s: %s", id, fmtErr(err)))
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
