package main

import (
	"errors"
	"log"
	"net/http"

	"github.com/faceoptout/faceoptout/exclusion"
)

// confirmForm is the confirmation page: the link's fields, sent back by a
// button (a GET never confirms: mail scanners open links).
type confirmForm struct {
	page
	ID, Exp, Sig string
}

// checkLink verifies a confirmation link's fields, writing the error page
// when they fail.
func (a *app) checkLink(w http.ResponseWriter, r *http.Request, id, exp, sig string) bool {
	ok, expired := checkConfirm(a.cfg.Key, id, exp, sig, a.cfg.Now())
	switch {
	case !ok:
		a.message(w, r, http.StatusBadRequest, "Invalid link", "This confirmation link is not valid. Please copy the whole link from the mail.")
		return false
	case expired:
		a.message(w, r, http.StatusGone, "Link expired", "This confirmation link has expired and the request will be withdrawn. Please send a new request.")
		return false
	}
	return true
}

func (a *app) confirmPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := confirmForm{ID: q.Get("id"), Exp: q.Get("exp"), Sig: q.Get("sig")}
	if !a.checkLink(w, r, f.ID, f.Exp, f.Sig) {
		return
	}
	f.Title, f.CSRF = "Confirm your request", a.csrfToken(w, r)
	a.render(w, http.StatusOK, "confirm", f)
}

func (a *app) confirm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	id, exp, sig := r.PostFormValue("id"), r.PostFormValue("exp"), r.PostFormValue("sig")
	if !a.csrfOK(r) {
		a.message(w, r, http.StatusForbidden, "Please try again", "The page expired: please open the link from the mail again.")
		return
	}
	if !a.checkLink(w, r, id, exp, sig) {
		return
	}
	_, err := a.reg.Confirm(r.Context(), id, "requester (e-mail link)")
	switch {
	case errors.Is(err, exclusion.ErrTransition):
		// Confirmed before (or decided): show where it stands.
	case errors.Is(err, exclusion.ErrNotFound):
		a.message(w, r, http.StatusNotFound, "Unknown request", "No request has this id.")
		return
	case err != nil:
		log.Printf("intake: confirm %s: %v", id, err)
		a.message(w, r, http.StatusServiceUnavailable, "Please try again later", "Your confirmation could not be stored.")
		return
	}
	http.Redirect(w, r, "/status/"+id+"?confirmed=1", http.StatusSeeOther)
}

// statusPage shows a request's progress to its requester. The id is the
// secret: it holds no personal data.
type statusPage struct {
	page
	ID, Kind, State, Flash string
	Status                 exclusion.Status
	Created, Decided       string
	CanWithdraw            bool
}

func (a *app) status(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	req, err := a.reg.Get(r.Context(), id)
	if errors.Is(err, exclusion.ErrNotFound) {
		a.message(w, r, http.StatusNotFound, "Unknown request", "No request has this id.")
		return
	}
	if err != nil {
		log.Printf("intake: status %s: %v", id, err)
		a.message(w, r, http.StatusServiceUnavailable, "Please try again later", "The request could not be read.")
		return
	}
	p := statusPage{
		page: page{Title: "Request " + req.ID, CSRF: a.csrfToken(w, r)},
		ID:   req.ID, Kind: "Face opt-out", Status: req.Status, State: statusText(req.Status),
		Created:     req.Created.Format("2006-01-02 15:04 MST"),
		CanWithdraw: req.Status == exclusion.Unconfirmed || req.Status == exclusion.Pending || req.Status == exclusion.Approved,
	}
	if req.Kind == exclusion.ImageRemoval {
		p.Kind = "Image removal (Digital Services Act)"
	}
	if !req.Decided.IsZero() {
		p.Decided = req.Decided.Format("2006-01-02 15:04 MST")
	}
	switch {
	case r.URL.Query().Get("confirmed") != "":
		p.Flash = "Thank you: your e-mail address is confirmed."
	case r.URL.Query().Get("withdrawn") != "":
		p.Flash = "Your request is withdrawn."
	}
	a.render(w, http.StatusOK, "status", p)
}

func (a *app) requesterWithdraw(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	id := r.PathValue("id")
	if !a.csrfOK(r) {
		a.message(w, r, http.StatusForbidden, "Please try again", "The page expired: please reload it.")
		return
	}
	if _, err := a.reg.Withdraw(r.Context(), id, "requester (status page)", "withdrawn by the requester"); err != nil && !errors.Is(err, exclusion.ErrTransition) {
		if errors.Is(err, exclusion.ErrNotFound) {
			a.message(w, r, http.StatusNotFound, "Unknown request", "No request has this id.")
			return
		}
		log.Printf("intake: withdraw %s: %v", id, err)
		a.message(w, r, http.StatusServiceUnavailable, "Please try again later", "The request could not be withdrawn now.")
		return
	}
	http.Redirect(w, r, "/status/"+id+"?withdrawn=1", http.StatusSeeOther)
}
