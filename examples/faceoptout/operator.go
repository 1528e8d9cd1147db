package main

// The operator's commands: init, submit, list, show, pick, approve, reject,
// withdraw, check, sweep, audit over a registry directory, and embed.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"strconv"
	"strings"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/examples/internal/progenv"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
)

// operator builds the registry commands. Its zero value loads the
// embedder the flags choose (--embedder dlib|onnx); tests set newEmbedder
// to a fake.
type operator struct {
	// newEmbedder loads the embedder the flags describe; nil means
	// embedder.Flags.New. close releases it.
	newEmbedder func(ef *embedder.Flags) (emb registrydir.Embedder, close func() error, err error)
	// env is how main reads the environment (os.Getenv); nil reads nothing.
	env progenv.Getenv
}

// commands returns the operator's subcommands.
func (o operator) commands() map[string]command {
	return map[string]command{
		"init":     {"create a registry enrolling faces with the chosen embedder: init --registry DIR [--embedder dlib|onnx] [--models DIR]", o.cmdInit},
		"submit":   {"submit a face opt-out or DSA image removal; prints the id and the faces found/refused", o.cmdSubmit},
		"list":     {"list requests: list [--status S] [--kind face|removal]", o.cmdList},
		"show":     {"show a request (no descriptors) and its audit trail: show ID", o.cmdShow},
		"pick":     {"pick the face to enrol in a pending request: pick ID --photo N --box x0,y0,x1,y1 --by WHO", o.cmdPick},
		"approve":  {"approve a pending request: approve ID --by WHO [--note TEXT]", o.decide("approve")},
		"reject":   {"reject a pending request: reject ID --by WHO [--note TEXT]", o.decide("reject")},
		"withdraw": {"withdraw a pending or approved request: withdraw ID --by WHO [--note TEXT]", o.decide("withdraw")},
		"check":    {"check an image file or URL; prints the verdict as JSON: check FILE|URL", o.cmdCheck},
		"sweep":    {"print the ids of an index to purge: sweep FILE (JSON lines {\"id\":..., \"descriptor\":[...]})", o.cmdSweep},
		"audit":    {"print the audit log: audit [ID]; check its hash chain: audit --verify", o.cmdAudit},
		"rekey":    {"re-wrap an encrypted registry's data keys under a new operator key: rekey --key-file OLD --new-key-file NEW", o.cmdRekey},
		"embed":    {"print the faces and descriptors of images (JSON lines with --json), with per-stage timings", o.cmdEmbed},
	}
}

// regFlags are --registry and, for the commands that describe faces, the
// embedder's flags (--embedder, --models, ...).
type regFlags struct {
	registry *string
	keyFile  *string         // --key-file: the operator key of an encrypted registry
	emb      *embedder.Flags // nil for commands that describe no face
}

// addRegFlags adds --registry to fs and, withEmbedder, the embedder's
// flags.
func (o operator) addRegFlags(fs *flag.FlagSet, withEmbedder bool) regFlags {
	rf := regFlags{registry: fs.String("registry", "", "registry directory (default $"+registrydir.Env+")")}
	rf.keyFile = fs.String("key-file", "", "operator key file of an encrypted registry (default $"+registrydir.KeyFileEnv+"); init makes it if missing")
	if withEmbedder {
		// A new registry enrols faces with the ONNX model by default
		// (see exclusion/EVALUATION.md); an existing one with its own
		// model unless --embedder says otherwise (operator.open).
		rf.emb = embedder.RegisterDefault(fs, o.env, embedder.ONNX)
	}
	return rf
}

// addThreshold adds --threshold to fs.
func addThreshold(fs *flag.FlagSet) *float64 {
	return fs.Float64("threshold", 0, "block a face within this Euclidean distance of an enrolled face "+
		"(0: the registry's model's calibrated threshold and weak-face rule)")
}

// filterConfig returns the Filter's configuration: the default one (the
// Filter then applies the model's calibrated threshold, and refuses a model
// without one), or a global threshold policy at threshold.
func filterConfig(threshold float64) (exclusion.FilterConfig, error) {
	cfg := exclusion.DefaultFilterConfig()
	if threshold == 0 {
		return cfg, nil
	}
	p, err := exclusion.NewThresholdPolicy(threshold, threshold)
	if err != nil {
		return cfg, fmt.Errorf("--threshold: %w", err)
	}
	cfg.Policy = p
	return cfg, nil
}

// newFilter is exclusion.NewFilter, with a hint at --threshold when the
// model has no calibrated threshold.
func newFilter(reg *exclusion.Registry, emb embed.Embedder, cfg exclusion.FilterConfig) (*exclusion.Filter, error) {
	f, err := exclusion.NewFilter(reg, emb, cfg)
	if errors.Is(err, exclusion.ErrPolicy) && cfg.Policy == nil {
		return nil, fmt.Errorf("%w (give --threshold)", err)
	}
	return f, err
}

// parse parses flags and positional arguments in any order.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// embedder returns the embedder ef chooses, loading its models.
func (o operator) embedder(ef *embedder.Flags) (registrydir.Embedder, func() error, error) {
	if o.newEmbedder != nil {
		return o.newEmbedder(ef)
	}
	if ef == nil {
		return registrydir.Embedder{}, nil, errors.New("this command describes no face")
	}
	e, err := ef.New()
	if err != nil {
		return registrydir.Embedder{}, nil, err
	}
	return registrydir.Embedder{Embedder: e}, e.Close, nil
}

// open opens the registry; withEmbedder loads the embedder too (closed by
// the returned function along with the registry).
func (o operator) open(ctx context.Context, rf regFlags, withEmbedder bool) (*exclusion.Registry, registrydir.Embedder, func(), error) {
	dir, err := registrydir.Resolve(*rf.registry, o.env)
	if err != nil {
		return nil, registrydir.Embedder{}, nil, err
	}
	opts, err := o.keyOptions(rf, false, nil)
	if err != nil {
		return nil, registrydir.Embedder{}, nil, err
	}
	var emb registrydir.Embedder
	closeEmb := func() error { return nil }
	if withEmbedder {
		if rf.emb != nil && !rf.emb.KindSet {
			// Without --embedder, the registry's own model.
			if err := o.registryKind(ctx, dir, rf.emb, opts); err != nil {
				return nil, emb, nil, err
			}
		}
		if emb, closeEmb, err = o.embedder(rf.emb); err != nil {
			return nil, emb, nil, err
		}
	}
	reg, err := registrydir.Open(ctx, dir, emb, opts...)
	if err != nil {
		_ = closeEmb()
		return nil, emb, nil, err
	}
	return reg, emb, func() { _ = reg.Close(); _ = closeEmb() }, nil
}

// registryKind sets ef.Kind to the kind of embedder of the model the
// registry in dir records.
func (o operator) registryKind(ctx context.Context, dir string, ef *embedder.Flags, opts []registrydir.Option) error {
	models, err := registrydir.Models(ctx, dir, opts...)
	if err != nil {
		return err
	}
	ef.Kind = embedder.KindOf(models[0])
	return nil
}

func (o operator) cmdInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", stderr)
	rf := o.addRegFlags(fs, true)
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	dir, err := registrydir.Resolve(*rf.registry, o.env)
	if err != nil {
		return err
	}
	// The registry records the model of the embedder that enrols its faces.
	emb, closeEmb, err := o.embedder(rf.emb)
	if err != nil {
		return err
	}
	defer closeEmb()
	opts, err := o.keyOptions(rf, true, stdout)
	if err != nil {
		return err
	}
	reg, err := registrydir.Create(ctx, dir, emb, opts...)
	if err != nil {
		return err
	}
	if err := reg.Close(); err != nil {
		return err
	}
	model := emb.Embedder.Model()
	fmt.Fprintf(stdout, "created registry %s (faces enrolled with %s)\n", dir, model)
	return nil
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// parseBox parses "x0,y0,x1,y1".
func parseBox(s string) (image.Rectangle, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return image.Rectangle{}, fmt.Errorf("box %q: want x0,y0,x1,y1", s)
	}
	var v [4]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return image.Rectangle{}, fmt.Errorf("box %q: %w", s, err)
		}
		v[i] = n
	}
	r := image.Rect(v[0], v[1], v[2], v[3])
	if r.Empty() {
		return r, fmt.Errorf("box %q is empty", s)
	}
	return r, nil
}

// kindOf maps the CLI's kind names to exclusion kinds.
func kindOf(s string) (exclusion.Kind, error) {
	switch s {
	case "face", "optout", "opt-out":
		return exclusion.FaceOptOut, nil
	case "removal", "image", "dsa":
		return exclusion.ImageRemoval, nil
	}
	return "", fmt.Errorf("--kind %q: want face or removal", s)
}

func kindName(k exclusion.Kind) string {
	if k == exclusion.ImageRemoval {
		return "removal"
	}
	return string(k)
}

// printValidation prints a validation error's problems, one per line.
func printValidation(w io.Writer, err error) {
	var ve *exclusion.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Fprintf(w, "  %s: %s\n", p.Field, p.Problem)
		}
	}
}

// printRequest prints a request's summary and its photos' faces.
func printRequest(w io.Writer, req *exclusion.Request) {
	fmt.Fprintf(w, "request %s\n  kind %s, status %s, country %s, created %s\n", req.ID, kindName(req.Kind), req.Status, req.Country, req.Created.Format("2006-01-02 15:04:05Z07:00"))
	for _, u := range req.URLs {
		fmt.Fprintf(w, "  url %s\n", u)
	}
	for i, p := range req.Photos {
		fmt.Fprintf(w, "  photo %d: %dx%d %s, sha256 %.16s..., phash %016x", i, p.Width, p.Height, p.Format, p.SHA256, p.PHash)
		if p.Problem != "" {
			fmt.Fprintf(w, ", problem: %s", p.Problem)
		}
		fmt.Fprintln(w)
		for _, f := range p.Faces {
			state := "enrolled"
			if !f.Enrolled {
				state = "refused: " + string(f.Refusal)
			}
			b := f.Box
			fmt.Fprintf(w, "    face box %d,%d,%d,%d size %d px, sharpness %.0f, score %.2f: %s\n", b.Min.X, b.Min.Y, b.Max.X, b.Max.Y, f.Quality.Size, f.Quality.Sharpness, f.Quality.Score, state)
		}
	}
}

// redacted returns req without descriptors, for display.
func redacted(req *exclusion.Request) *exclusion.Request {
	c := *req
	c.Photos = make([]exclusion.PhotoRecord, len(req.Photos))
	for i, p := range req.Photos {
		p.Faces = append([]exclusion.FaceRecord(nil), p.Faces...)
		for j := range p.Faces {
			p.Faces[j].Descriptors = nil
		}
		c.Photos[i] = p
	}
	return &c
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
