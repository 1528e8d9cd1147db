package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/faceoptout/faceoptout/exclusion"
)

// cmdList lists requests, oldest first.
//
//	faceoptout list [--status pending|approved|rejected|withdrawn] [--kind face|removal] [--json]
func (o operator) cmdList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("list", stderr)
	rf := o.addRegFlags(fs, false)
	status := fs.String("status", "", "only requests with this status")
	kind := fs.String("kind", "", "only requests of this kind (face or removal)")
	asJSON := fs.Bool("json", false, "print JSON lines (without descriptors)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var k exclusion.Kind
	if *kind != "" {
		var err error
		if k, err = kindOf(*kind); err != nil {
			return err
		}
	}
	switch exclusion.Status(*status) {
	case "", exclusion.Pending, exclusion.Approved, exclusion.Rejected, exclusion.Withdrawn:
	default:
		return fmt.Errorf("--status %q: want pending, approved, rejected or withdrawn", *status)
	}
	reg, _, done, err := o.open(ctx, rf, false)
	if err != nil {
		return err
	}
	defer done()
	var reqs []*exclusion.Request
	for req, err := range reg.Requests(ctx) {
		if err != nil {
			return err
		}
		if (*status == "" || req.Status == exclusion.Status(*status)) && (k == "" || req.Kind == k) {
			reqs = append(reqs, req)
		}
	}
	slices.SortFunc(reqs, func(a, b *exclusion.Request) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if *asJSON {
		for _, r := range reqs {
			if err := writeJSON(stdout, redacted(r)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATUS\tCOUNTRY\tCREATED\tFACES\tURLS\tNAME")
	for _, r := range reqs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", r.ID, kindName(r.Kind), r.Status, r.Country, r.Created.Format("2006-01-02 15:04"), len(r.EnrolledFaces()), len(r.URLs), r.Name)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d requests\n", len(reqs))
	return nil
}

// cmdShow prints one request (never its descriptors) and its audit trail.
//
//	faceoptout show ID [--json]
func (o operator) cmdShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("show", stderr)
	rf := o.addRegFlags(fs, false)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: faceoptout show ID")
	}
	reg, _, done, err := o.open(ctx, rf, false)
	if err != nil {
		return err
	}
	defer done()
	req, err := reg.Get(ctx, pos[0])
	if err != nil {
		return err
	}
	var evs []exclusion.AuditEvent
	for ev, err := range reg.Audit(ctx, req.ID) {
		if err != nil {
			return err
		}
		evs = append(evs, ev)
	}
	if *asJSON {
		return writeJSON(stdout, struct {
			Request *exclusion.Request     `json:"request"`
			Audit   []exclusion.AuditEvent `json:"audit"`
		}{redacted(req), evs})
	}
	printRequest(stdout, req)
	fmt.Fprintf(stdout, "  requester %s <%s> %s\n  reason: %s\n", req.Name, req.Email, req.Phone, req.Reason)
	for _, ev := range evs {
		fmt.Fprintf(stdout, "  %s\n", ev)
	}
	return nil
}

// cmdPick picks the face to enrol in a pending face opt-out.
//
//	faceoptout pick ID --photo N --box x0,y0,x1,y1 --by REVIEWER
func (o operator) cmdPick(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("pick", stderr)
	rf := o.addRegFlags(fs, false)
	photo := fs.Int("photo", 0, "the photo's index (0-based)")
	box := fs.String("box", "", "x0,y0,x1,y1: the face to enrol")
	by := fs.String("by", "", "reviewer (audit log; required)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *by == "" || *box == "" {
		return errors.New("usage: faceoptout pick ID --photo N --box x0,y0,x1,y1 --by REVIEWER")
	}
	r, err := parseBox(*box)
	if err != nil {
		return err
	}
	reg, _, done, err := o.open(ctx, rf, false)
	if err != nil {
		return err
	}
	defer done()
	req, err := reg.Pick(ctx, pos[0], *photo, r, *by)
	if err != nil {
		printValidation(stderr, err)
		return err
	}
	printRequest(stdout, req)
	return nil
}

// decide returns the approve, reject or withdraw command.
//
//	faceoptout approve|reject|withdraw ID --by REVIEWER [--note TEXT]
func (o operator) decide(action string) func(context.Context, []string, io.Writer, io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlags(action, stderr)
		rf := o.addRegFlags(fs, false)
		by := fs.String("by", "", "reviewer (audit log; required)")
		note := fs.String("note", "", "comment for the audit log (no biometric data)")
		pos, err := parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 || *by == "" {
			return fmt.Errorf("usage: faceoptout %s ID --by REVIEWER [--note TEXT]", action)
		}
		reg, _, done, err := o.open(ctx, rf, false)
		if err != nil {
			return err
		}
		defer done()
		var req *exclusion.Request
		switch action {
		case "approve":
			req, err = reg.Approve(ctx, pos[0], *by, *note)
		case "reject":
			req, err = reg.Reject(ctx, pos[0], *by, *note)
		default:
			req, err = reg.Withdraw(ctx, pos[0], *by, *note)
		}
		if err != nil {
			printValidation(stderr, err)
			return err
		}
		fmt.Fprintf(stdout, "%s: %s (by %s)\n", req.ID, req.Status, *by)
		return nil
	}
}

// cmdAudit prints the audit log, or one request's.
//
//	faceoptout audit [ID] [--json]
func (o operator) cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit", stderr)
	rf := o.addRegFlags(fs, false)
	asJSON := fs.Bool("json", false, "print JSON lines")
	verify := fs.Bool("verify", false, "check the log's hash chain and print its head (record it elsewhere to detect a rewrite later)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 || *verify && len(pos) > 0 {
		return errors.New("usage: faceoptout audit [ID] | audit --verify")
	}
	if *verify {
		reg, _, done, err := o.open(ctx, rf, false)
		if err != nil {
			return err
		}
		defer done()
		head, err := reg.VerifyAudit(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSONLine(stdout, head)
		}
		fmt.Fprintf(stdout, "audit log verified: %d events, last #%d %s\n", head.Events, head.Seq, head.Hash)
		return nil
	}
	id := ""
	if len(pos) == 1 {
		id = pos[0]
	}
	reg, _, done, err := o.open(ctx, rf, false)
	if err != nil {
		return err
	}
	defer done()
	for ev, err := range reg.Audit(ctx, id) {
		if err != nil {
			return err
		}
		if *asJSON {
			if err := writeJSONLine(stdout, ev); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(stdout, ev)
	}
	return nil
}
