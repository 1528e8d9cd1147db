package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/faceoptout/faceoptout/examples/crawler/crawl"
)

// cmdCheck checks image files or URLs through the Filter and prints one
// JSON object per image: verdict, matching request ids, matches with
// distances and thresholds, and the error of an unchecked image. Only
// "allow" may be indexed.
//
//	faceoptout check [--embedder dlib|onnx] [--threshold T] FILE|URL...
func (o operator) cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	rf := o.addRegFlags(fs, true)
	threshold := addThreshold(fs)
	cc := crawl.DefaultConfig()
	fs.DurationVar(&cc.FetchTimeout, "timeout", cc.FetchTimeout, "timeout per fetch")
	fs.Int64Var(&cc.MaxBytes, "max-bytes", cc.MaxBytes, "largest image fetched, in bytes")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return errors.New("usage: faceoptout check FILE|URL...")
	}
	fcfg, err := filterConfig(*threshold)
	if err != nil {
		return err
	}
	srcs, err := crawl.Sources(pos...)
	if err != nil {
		return err
	}
	reg, emb, done, err := o.open(ctx, rf, true)
	if err != nil {
		return err
	}
	defer done()
	f, err := newFilter(reg, emb.Embedder, fcfg)
	if err != nil {
		return err
	}
	c, err := crawl.New(f, cc)
	if err != nil {
		return err
	}
	for _, r := range c.Crawl(ctx, srcs) {
		line := struct {
			crawl.Result
			MayIndex bool   `json:"may_index"`
			Error    string `json:"error,omitempty"`
		}{Result: r, MayIndex: r.Verdict.MayIndex()}
		if r.Err != nil {
			line.Error = r.Err.Error()
		}
		if err := writeJSONLine(stdout, line); err != nil {
			return err
		}
	}
	return nil
}

func writeJSONLine(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }
