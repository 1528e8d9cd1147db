package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
)

// fieldRef is what the "fielderr" template gets.
type fieldRef struct {
	Errors map[string]string
	Field  string
}

type formValues struct {
	Country, Reason, Name, Email, Phone, URLs string
}

type formPage struct {
	page
	Action    string
	Face      bool
	Form      formValues
	Errors    map[string]string
	Countries []string
	MaxMiB    int
}

func (a *app) newForm(w http.ResponseWriter, r *http.Request, face bool) formPage {
	p := formPage{page: page{CSRF: a.csrfToken(w, r)}, Face: face, Errors: map[string]string{}, Countries: a.countries, MaxMiB: exclusion.MaxPhotoBytes >> 20}
	if face {
		p.Title, p.Action = "Face opt-out request", "/optout"
	} else {
		p.Title, p.Action = "Image removal request (Digital Services Act)", "/removal"
	}
	return p
}

func (a *app) form(face bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.render(w, http.StatusOK, "form", a.newForm(w, r, face))
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

// sentPage is the page after a submission.
type sentPage struct {
	page
	ID, Email, Faces, StatusURL string
	Status                      exclusion.Status
}

func (a *app) submit(face bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := a.newForm(w, r, face)
		now := a.cfg.Now()
		if !a.perClient.allow(clientKey(r, a.cfg.TrustProxy), now) {
			p.Errors["request"] = "too many requests from your network; please try again later"
			a.render(w, http.StatusTooManyRequests, "form", p)
			return
		}
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
		if !a.csrfOK(r) {
			p.Errors["request"] = "the form expired; please send it again"
			a.render(w, http.StatusForbidden, "form", p)
			return
		}
		sub := &exclusion.Submission{
			Kind: exclusion.ImageRemoval, Country: p.Form.Country, Reason: p.Form.Reason,
			Name: p.Form.Name, Email: p.Form.Email, Phone: p.Form.Phone,
		}
		if face {
			sub.Kind = exclusion.FaceOptOut
		} else {
			for l := range strings.SplitSeq(p.Form.URLs, "\n") {
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
		if !a.perAddr.allow(strings.ToLower(sub.Email), now) {
			p.Errors["email"] = "too many requests for this address; please try again later"
			a.render(w, http.StatusTooManyRequests, "form", p)
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
		if req.Status == exclusion.Unconfirmed {
			if err := a.sendConfirmation(r.Context(), req); err != nil {
				log.Printf("intake: confirmation mail for %s: %v", req.ID, err)
				if _, werr := a.reg.Withdraw(context.WithoutCancel(r.Context()), req.ID, "intake", "the confirmation mail could not be sent"); werr != nil {
					log.Printf("intake: withdrawing %s: %v", req.ID, werr)
				}
				p.Errors["email"] = "we could not send a confirmation mail to this address; your request was withdrawn. Please try again later."
				a.render(w, http.StatusServiceUnavailable, "form", p)
				return
			}
		}
		a.render(w, http.StatusOK, "sent", sentPage{
			page: page{Title: "Request received"}, ID: req.ID, Email: req.Email, Faces: facesSummary(req),
			Status: req.Status, StatusURL: "/status/" + req.ID,
		})
	}
}

// sendConfirmation mails the requester the signed, expiring link that
// confirms their address.
func (a *app) sendConfirmation(ctx context.Context, req *exclusion.Request) error {
	exp := a.cfg.Now().Add(a.cfg.LinkTTL).Unix()
	link := a.link("/confirm", url.Values{"id": {req.ID}, "exp": {strconv.FormatInt(exp, 10)}, "sig": {confirmSig(a.cfg.Key, req.ID, exp)}})
	what := "a face opt-out"
	if req.Kind == exclusion.ImageRemoval {
		what = "an image removal (Digital Services Act)"
	}
	body := fmt.Sprintf("Hello %s,\n\nwe received %s request with this e-mail address (case %s).\n"+
		"Please confirm that it is yours by opening this link and pressing \"Confirm\" before %s:\n\n%s\n\n"+
		"Until then nobody reviews the request. If you did not send it, ignore this mail: the request\n"+
		"will be withdrawn.\n\nThe status of your request: %s\n",
		req.Name, what, req.ID, time.Unix(exp, 0).UTC().Format("2006-01-02 15:04 MST"), link, a.link("/status/"+req.ID, nil))
	return a.mail.Send(ctx, Mail{To: req.Email, Subject: "Please confirm your request " + req.ID, Body: body})
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
