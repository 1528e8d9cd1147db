package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"iter"
	"os"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
)

// sweepLine is one line of sweep's input.
type sweepLine struct {
	ID         json.RawMessage `json:"id"`
	Descriptor []float32       `json:"descriptor"`
}

// cmdSweep reads an existing index's (id, descriptor) pairs as JSON lines
// and prints, one per line, the ids whose face an approved request blocks or
// sends to review: what to purge. A malformed line stops the sweep with an
// error (nothing is skipped silently).
//
//	faceoptout sweep [--since RFC3339] [--request ID]... FILE|-
func (o operator) cmdSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sweep", stderr)
	rf := o.addRegFlags(fs, false)
	threshold := addThreshold(fs)
	since := fs.String("since", "", "only requests approved at or after this time (RFC 3339)")
	var ids listFlag
	fs.Var(&ids, "request", "only this approved request (repeatable)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: faceoptout sweep [--since RFC3339] [--request ID]... FILE|-")
	}
	sel := exclusion.SweepSelect{RequestIDs: ids}
	if *since != "" {
		if sel.Since, err = time.Parse(time.RFC3339, *since); err != nil {
			return fmt.Errorf("--since: %w", err)
		}
	}
	in := io.Reader(os.Stdin)
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	// Sweeping needs no face detection: the registry is opened without an
	// embedder, and the Filter gets one that refuses images.
	dir, err := registrydir.Resolve(*rf.registry, o.env)
	if err != nil {
		return err
	}
	opts, err := o.keyOptions(rf, false, nil)
	if err != nil {
		return err
	}
	reg, err := registrydir.Open(ctx, dir, registrydir.Embedder{}, opts...)
	if err != nil {
		return err
	}
	defer reg.Close()
	models := reg.Models()
	if len(models) == 0 {
		return fmt.Errorf("registry %s records no face model", dir)
	}
	// The descriptors are the first model's: the one the registry finds
	// faces with.
	model := models[0]
	fcfg, err := filterConfig(*threshold)
	if err != nil {
		return err
	}
	f, err := newFilter(reg, noImages{model: model}, fcfg)
	if err != nil {
		return err
	}
	var readErr error
	pairs := func(yield func(string, embed.Descriptor) bool) {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		n := 0
		for sc.Scan() {
			n++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			var l sweepLine
			if err := json.Unmarshal(b, &l); err != nil {
				readErr = fmt.Errorf("line %d: %w", n, err)
				return
			}
			if len(l.ID) == 0 || len(l.Descriptor) != model.Dim {
				readErr = fmt.Errorf("line %d: want an id and a descriptor of %d numbers (model %s), got %d", n, model.Dim, model.Name, len(l.Descriptor))
				return
			}
			d := embed.Descriptor(l.Descriptor)
			if !yield(idString(l.ID), d) {
				return
			}
		}
		readErr = sc.Err()
	}
	purge, err := exclusion.Sweep(ctx, f, sel, iter.Seq2[string, embed.Descriptor](pairs))
	if err == nil {
		err = readErr
	}
	if err != nil {
		return fmt.Errorf("sweep stopped, the list is incomplete: %w", err)
	}
	w := bufio.NewWriter(stdout)
	for _, id := range purge {
		fmt.Fprintln(w, id)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d ids to purge\n", len(purge))
	return nil
}

// idString prints a JSON string id unquoted, any other id as it is.
func idString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// noImages is an embedder for a Filter that only sweeps descriptors of
// model.
type noImages struct{ model embed.Model }

func (n noImages) Model() embed.Model { return n.model }

func (noImages) Faces(context.Context, image.Image) ([]embed.Face, error) {
	return nil, errors.New("faceoptout sweep: no face detection")
}
