package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/faceoptout/faceoptout/exclusion"
)

// cmdSubmit submits a request and prints its id and, per photo, the faces
// found, enrolled or refused (with the quality gate's reasons).
//
//	faceoptout submit --kind face|removal --country CC --reason TEXT --name N
//	    --email E --phone +E164 [--photo FILE [--box x0,y0,x1,y1]]... [--url URL]...
//	    [--threshold D] [--by WHO] [--json]
//
// A --box picks the face to enrol in the --photo before it.
func (o operator) cmdSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("submit", stderr)
	rf := o.addRegFlags(fs, true)
	var sub exclusion.Submission
	kind := fs.String("kind", "", "face (opt-out) or removal (DSA image removal)")
	fs.StringVar(&sub.Country, "country", "", "ISO 3166-1 alpha-2 country code, e.g. DE")
	fs.StringVar(&sub.Reason, "reason", "", "why the request is made")
	fs.StringVar(&sub.Name, "name", "", "requester's name")
	fs.StringVar(&sub.Email, "email", "", "requester's email address")
	fs.StringVar(&sub.Phone, "phone", "", "requester's phone number (E.164, +4915123456789)")
	fs.Float64Var(&sub.Threshold, "threshold", 0, "per-request blocking distance (0: the policy's default)")
	by := fs.String("by", "cli", "who submits (audit log)")
	asJSON := fs.Bool("json", false, "print the stored request (without descriptors) as JSON")
	var urls listFlag
	fs.Var(&urls, "url", "source URL of an image to remove (repeatable)")
	fs.Func("photo", "photo file (repeatable; its bytes are never stored)", func(p string) error {
		b, err := readLimited(p, exclusion.MaxPhotoBytes)
		if err != nil {
			return err
		}
		sub.Photos = append(sub.Photos, exclusion.Photo{Data: b})
		return nil
	})
	fs.Func("box", "x0,y0,x1,y1: the face to enrol in the preceding --photo", func(s string) error {
		if len(sub.Photos) == 0 {
			return errors.New("--box must follow the --photo it applies to")
		}
		r, err := parseBox(s)
		if err != nil {
			return err
		}
		sub.Photos[len(sub.Photos)-1].Face = &r
		return nil
	})
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	if sub.Kind, err = kindOf(*kind); err != nil {
		return err
	}
	sub.URLs = urls
	// Validate first: a bad form needs no models.
	if err := exclusion.Validate(&sub); err != nil {
		fmt.Fprintln(stderr, "the request is invalid:")
		printValidation(stderr, err)
		return err
	}
	reg, _, done, err := o.open(ctx, rf, sub.Kind == exclusion.FaceOptOut)
	if err != nil {
		return err
	}
	defer done()
	req, err := reg.Submit(ctx, &sub, *by)
	if err != nil {
		if errors.Is(err, exclusion.ErrInvalidRequest) {
			fmt.Fprintln(stderr, "the request is invalid:")
			printValidation(stderr, err)
		}
		return err
	}
	if *asJSON {
		return writeJSON(stdout, redacted(req))
	}
	printRequest(stdout, req)
	for i, p := range req.Photos {
		if p.Problem == exclusion.RefusalSeveralFaces {
			fmt.Fprintf(stdout, "  photo %d shows several faces: pick one with: faceoptout pick %s --photo %d --box x0,y0,x1,y1 --by REVIEWER\n", i, req.ID, i)
		}
	}
	fmt.Fprintf(stdout, "submitted %s (pending review)\n", req.ID)
	return nil
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}
