package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/examples/internal/progenv"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/cohort"
	"github.com/faceoptout/faceoptout/exclusion/evaluation"
	"github.com/faceoptout/faceoptout/internal/facesim"
)

// cmdEval measures FNMR and FPIR of the global-threshold policy (alone, and
// with the Filter's default weak-face rule) and of cohort.Policy
// (without and with photo fusion) on labelled faces, and FPIR against the number of
// enrolled faces on facesim data. It writes a Markdown report (stdout and
// OUT/eval.md) and DET curves (OUT/det.png).
//
//	bench eval --descriptors ../shared/faces/idols/idols.json
//	bench eval --images ../shared/faces/bbt --label-from dir --enrol 4 --per-person 1 --cohort-people 0 --cohort ../shared/faces/idols/idols.json
//	bench eval --images ../shared/faces/idols --label-from filename ...
//	bench eval --scale --idols ../shared/faces/idols/idols.json
//	bench eval --images ../shared/faces/eastasian --label-from dir --enrol 20 --per-person 1 --cohort-people 0 --systems dlib,onnx,onnx+flip
func cmdEval(ctx context.Context, env progenv.Getenv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	descs := fs.String("descriptors", "", "descriptor file (idols.json layout) of labelled faces")
	images := fs.String("images", "", "folder of labelled images, embedded with embed.NewDlib")
	labelFrom := fs.String("label-from", "dir", "with --images: dir (one folder per person) or filename (person + digits)")
	cohortFile := fs.String("cohort", "", "descriptor file used as the cohort instead of in-set cohort people")
	cache := fs.String("cache", "", "with --images: file of the embedded faces, reused while the images and embedder settings are unchanged")
	cohortImages := fs.String("cohort-images", "", "folder of images (one folder per person) embedded with the chosen embedder and used as the cohort instead of in-set cohort people (--cache FILE keeps them in FILE.cohort)")
	p := evaluation.IdolsProtocol()
	fs.IntVar(&p.Enrolled, "enrol", p.Enrolled, "people enrolled per split")
	fs.IntVar(&p.PerPerson, "per-person", p.PerPerson, "photos enrolled per person")
	fs.IntVar(&p.Cohort, "cohort-people", p.Cohort, "people per split held out as the cohort")
	fs.IntVar(&p.Strangers, "strangers", p.Strangers, "stranger people per split (0: all the rest)")
	fs.IntVar(&p.Splits, "splits", p.Splits, "random splits")
	fs.Uint64Var(&p.Seed, "seed", p.Seed, "seed of the splits")
	global := fs.Float64("threshold", 0, "global threshold of the baseline policy (0: the chosen embedder's calibrated Threshold)")
	ccfg := cohort.DefaultConfig()
	fs.IntVar(&ccfg.K, "k", ccfg.K, "cohort policy: nearest cohort faces averaged")
	fs.Float64Var(&ccfg.Block, "block", ccfg.Block, "cohort policy: block score")
	fs.Float64Var(&ccfg.Review, "review", ccfg.Review, "cohort policy: review score")
	fs.Float64Var(&ccfg.MaxDistance, "max-distance", ccfg.MaxDistance, "cohort policy: radius")
	fs.Float64Var(&ccfg.SkipWithin, "skip-within", ccfg.SkipWithin, "cohort policy: ignore cohort faces closer than this")
	fuse := fs.Bool("fuse", !ccfg.PerFace, "cohort policy: combine the photos of a request")
	weak := exclusion.DefaultFilterConfig().WeakFaces
	fs.Float64Var(&weak.MaxScore, "weak-score", weak.MaxScore, "weak-face rule: HOG detection score below which a face is weak (0: off)")
	fs.Float64Var(&weak.Review, "weak-review", 0, "weak-face rule: review a weak face within this distance (0: the chosen embedder's calibrated WeakReview; the rule is off for a model without one)")
	reps := fs.Int("bootstrap", 500, "bootstrap resamples of splits")
	research := fs.Bool("research", false, "also measure the rules researched and not kept (EVALUATION.md)")
	out := fs.String("out", "", "directory for eval.md and det.png (none: stdout only)")
	scale := fs.Bool("scale", false, "measure FPIR against enrolled faces on facesim data")
	idols := fs.String("idols", "", "with --scale: descriptors facesim is fitted to (default $"+progenv.FacesEnv+"/idols/idols.json, else ../shared/faces/idols/idols.json)")
	widen := fs.Float64("widen", 7, "with --scale: facesim between-person widening")
	sizes := fs.String("sizes", "10000,100000,1000000", "with --scale: enrolled faces")
	probes := fs.Int("probes", 2000, "with --scale: stranger probes per size")
	thresholds := fs.String("thresholds", "0.4,0.5,0.55,0.6", "with --scale: global thresholds")
	systems := fs.String("systems", "", "with --images: compare these embedders on the same photos and splits, e.g. dlib,onnx,onnx+flip,onnx+mean68+mirror@1.09 (options: dlib68, onnx68, mean68, detcrop, cropS, refineN, lids, edge, eyesnose, mouthW, robustS, flip, noaa, mirror, shiftN, weakR; @T: threshold)")
	sweep := fs.String("sweep", "-0.04,-0.02,-0.01,0,0.01,0.02,0.04", "with --systems: offsets from each system's threshold the global-threshold sweep reports")
	ef := embedder.Register(fs, env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *systems != "" {
		if *images == "" {
			return errors.New("--systems needs --images")
		}
		list, err := parseSystems(*systems, ef)
		if err != nil {
			return err
		}
		var offsets []float64
		if *sweep != "" {
			if offsets, err = floats(*sweep); err != nil {
				return fmt.Errorf("--sweep: %w", err)
			}
		}
		var md bytes.Buffer
		w := io.MultiWriter(stdout, &md)
		start := time.Now()
		results, err := evalSystems(ctx, w, list, *images, evaluation.LabelMode(*labelFrom), ef, *cache, p, weak.MaxScore, offsets, *reps, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "evaluated in %v\n", time.Since(start).Round(time.Millisecond))
		var png bytes.Buffer
		if *out != "" {
			if err := evaluation.WriteDET(&png, filepath.Base(*images), results); err != nil {
				return err
			}
		}
		return writeOut(*out, md.Bytes(), png.Bytes())
	}
	if *idols == "" {
		*idols = filepath.Join(progenv.FacesDir("", env), "idols", "idols.json")
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	// The baseline and default policies run at the chosen model's
	// operating point, as a Filter without a Policy does.
	op := operatingPoint(ef)
	if *global == 0 {
		if op.Threshold == 0 {
			return fmt.Errorf("--embedder %s: model %s has no calibrated threshold: give --threshold", ef.Kind, op.Name)
		}
		*global = op.Threshold
	}
	if weak.Review == 0 {
		weak.Review = op.WeakReview
	}
	if ef.Kind != embedder.Dlib && *images != "" && !given["block"] && !given["review"] && !given["max-distance"] {
		fmt.Fprintf(stderr, "the cohort policy's --block, --review and --max-distance defaults are dlib's\n")
	}
	var md bytes.Buffer
	w := io.MultiWriter(stdout, &md)
	if *scale {
		if err := evalScale(w, *idols, *widen, *sizes, *thresholds, *probes, p.Seed); err != nil {
			return err
		}
	}
	if *descs == "" && *images == "" {
		if !*scale {
			return errors.New("usage: bench eval (--descriptors FILE | --images DIR [--label-from dir|filename]) [--cohort FILE] [--scale] [--out DIR]")
		}
		return writeOut(*out, md.Bytes(), nil)
	}
	var set *evaluation.Set
	var err error
	if *descs != "" {
		set, err = evaluation.LoadDescriptorFile(*descs)
	} else {
		set, err = embedImages(ctx, *images, evaluation.LabelMode(*labelFrom), ef, *cache, stderr)
	}
	if err != nil {
		return err
	}
	var cohort []embed.Descriptor
	if *cohortFile != "" {
		c, err := evaluation.LoadDescriptorFile(*cohortFile)
		if err != nil {
			return err
		}
		for _, f := range c.Faces {
			cohort = append(cohort, f.Descriptor)
		}
	}
	if *cohortImages != "" {
		if *cohortFile != "" {
			return errors.New("give --cohort or --cohort-images, not both")
		}
		cc := ""
		if *cache != "" {
			cc = *cache + ".cohort"
		}
		c, err := embedImages(ctx, *cohortImages, evaluation.LabelFromDir, ef, cc, stderr)
		if err != nil {
			return fmt.Errorf("--cohort-images: %w", err)
		}
		for _, f := range c.Faces {
			cohort = append(cohort, f.Descriptor)
		}
	}
	splits, err := p.Partition(set, cohort)
	if err != nil {
		return err
	}
	start := time.Now()
	var results []evaluation.Result
	ccfg.PerFace = !*fuse
	// --weak-score 0 turns the rule off, and so does a model without a
	// calibrated WeakReview (as in the Filter).
	weak.Disabled = weak.MaxScore <= 0 || weak.Review <= 0
	unfused := ccfg
	unfused.PerFace = true
	tm := evaluation.ThresholdMethod(*global, *global, &evaluation.VerdictCounts{})
	dm := evaluation.ThresholdMethod(*global, *global, &evaluation.VerdictCounts{})
	dm.Label = fmt.Sprintf("default: global %.2f + weak-face rule (score < %.2f: review within %.2f)", *global, weak.MaxScore, weak.Review)
	if weak.Disabled {
		dm.Label = fmt.Sprintf("default: global %.2f, weak-face rule off", *global)
	}
	dm.Weak = weak
	methods := []*evaluation.PolicyMethod{tm, dm}
	switch {
	case p.Cohort == 0 && len(cohort) == 0:
		// No cohort (--cohort-people 0 and no --cohort file, as for a model
		// without a cohort file of its own): no cohort policy.
		fmt.Fprintln(stderr, "no cohort: the cohort policy is not measured (give --cohort FILE or --cohort-people N)")
	case ccfg.PerFace:
		methods = append(methods, evaluation.CohortMethod(unfused, &evaluation.VerdictCounts{}))
	default:
		methods = append(methods, evaluation.CohortMethod(unfused, &evaluation.VerdictCounts{}), evaluation.CohortMethod(ccfg, &evaluation.VerdictCounts{}))
	}
	// The Filter runs its weak-face rule after any policy.
	for _, m := range methods[2:] {
		m.Weak = weak
		m.Label += " + weak-face rule"
	}
	for _, m := range methods {
		sc, err := evaluation.Run(m, splits)
		if err != nil {
			return err
		}
		block, review := *global, *global
		if m != tm && m != dm {
			block, review = ccfg.Block, ccfg.Review
		}
		results = append(results, evaluation.Result{Method: m.Name(), Scores: sc, Block: block, Review: review, Verdicts: m.Verdicts})
	}
	people, _ := set.People()
	title := fmt.Sprintf("%s: %d faces of %d people; protocol %d enrolled x %d photos, %d cohort people, strangers %s, seed %d",
		set.Name, len(set.Faces), len(people), p.Enrolled, p.PerPerson, p.Cohort, strangers(p.Strangers), p.Seed)
	if *cohortFile != "" {
		title += fmt.Sprintf("; cohort %s (%d faces)", *cohortFile, len(cohort))
	}
	if *cohortImages != "" {
		title += fmt.Sprintf("; cohort %s (%d faces)", *cohortImages, len(cohort))
	}
	if err := evaluation.WriteMarkdown(w, title, results, *reps); err != nil {
		return err
	}
	if *research {
		var rs []evaluation.Result
		for _, m := range evaluation.ResearchMethods() {
			sc, err := evaluation.Run(m, splits)
			if err != nil {
				return err
			}
			rs = append(rs, evaluation.Result{Method: m.Name(), Scores: sc})
		}
		fmt.Fprintf(w, "Researched rules, not kept (same splits; FNMR at FPIR, 95 %% bootstrap over splits):\n\n")
		evaluation.WriteCurveMarkdown(w, append(results[:1:1], append(results[2:], rs...)...), []float64{0.01, 0.05, 0.20}, *reps)
	}
	fmt.Fprintf(stderr, "evaluated in %v\n", time.Since(start).Round(time.Millisecond))
	var png bytes.Buffer
	if *out != "" {
		if err := evaluation.WriteDET(&png, filepath.Base(set.Name), results); err != nil {
			return err
		}
	}
	return writeOut(*out, md.Bytes(), png.Bytes())
}

// operatingPoint is the calibration of the model ef chooses, as its
// embedder's Model reports it, read from the configuration (the files are
// not loaded): Name, Threshold and WeakReview are set.
func operatingPoint(ef *embedder.Flags) embed.Model {
	if ef.Kind != embedder.Dlib {
		m := ef.ONNXConfig().Model
		return embed.Model{Name: m.Name, Dim: m.Dim, Threshold: m.Threshold, WeakReview: m.WeakReview}
	}
	return embed.Model{Name: embed.DlibModelName, Dim: embed.DlibDim, Threshold: embed.DlibThreshold, WeakReview: embed.DlibWeakReview}
}

func strangers(n int) string {
	if n == 0 {
		return "all the rest"
	}
	return strconv.Itoa(n)
}

func writeOut(dir string, md, png []byte) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "eval.md"), md, 0o644); err != nil {
		return err
	}
	if png != nil {
		return os.WriteFile(filepath.Join(dir, "det.png"), png, 0o644)
	}
	return nil
}

func floats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func evalScale(w io.Writer, idols string, widen float64, sizes, thresholds string, probes int, seed uint64) error {
	ts, err := floats(thresholds)
	if err != nil {
		return fmt.Errorf("--thresholds: %w", err)
	}
	fsz, err := floats(sizes)
	if err != nil {
		return fmt.Errorf("--sizes: %w", err)
	}
	var ns []int
	for _, f := range fsz {
		ns = append(ns, int(f))
	}
	d, err := facesim.LoadIdols(idols)
	if err != nil {
		return err
	}
	base, err := facesim.Fit(d.Descriptors, d.Labels)
	if err != nil {
		return err
	}
	m, err := base.Widen(widen)
	if err != nil {
		return err
	}
	start := time.Now()
	pts, err := evaluation.FPIRAtScale(m, evaluation.ScaleConfig{Sizes: ns, Thresholds: ts, Probes: probes, Seed: seed})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "### FPIR against enrolled faces (facesim fitted to %s, between-person covariance x%g; %d stranger probes; exact index; %v)\n\n",
		filepath.Base(idols), widen, probes, time.Since(start).Round(time.Second))
	evaluation.WriteScaleMarkdown(w, pts)
	return nil
}

// embedImages embeds a labelled folder with the embedder ef chooses, or reads the
// faces from cache when it was written for the same images and settings
// (and writes it otherwise).
func embedImages(ctx context.Context, dir string, mode evaluation.LabelMode, ef *embedder.Flags, cache string, stderr io.Writer) (*evaluation.Set, error) {
	var key string
	if cache != "" {
		// The settings that change the descriptors (not Workers).
		k := ef.DlibConfig()
		k.Workers = 0
		settings := fmt.Sprintf("%+v", k)
		if ef.Kind != embedder.Dlib {
			oc := ef.ONNXConfig()
			oc.Detection.Workers = 0
			// The calibration does not change the descriptors.
			oc.Model.Threshold, oc.Model.WeakReview = 0, 0
			settings = fmt.Sprintf("%s %+v", ef.Kind, oc)
		}
		var err error
		if key, err = evaluation.FolderKey(dir, mode, settings); err != nil {
			return nil, err
		}
		if f, err := os.Open(cache); err == nil {
			set, skipped, err := evaluation.ReadSet(f, key)
			f.Close()
			if err == nil {
				fmt.Fprintf(stderr, "faces from %s (%d faces, %d images skipped)\n", cache, len(set.Faces), len(skipped))
				return set, nil
			}
			fmt.Fprintf(stderr, "not using %s: %v\n", cache, err)
		}
	}
	d, err := ef.New()
	if err != nil {
		return nil, err
	}
	set, skipped, err := evaluation.EmbedFolder(ctx, d, dir, mode)
	d.Close()
	for _, s := range skipped {
		fmt.Fprintf(stderr, "skipped %s: %s\n", s.File, s.Reason)
	}
	if err != nil || cache == "" {
		return set, err
	}
	var b bytes.Buffer
	if err := evaluation.WriteSet(&b, key, set, skipped); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cache, b.Bytes(), 0o600); err != nil {
		return nil, err
	}
	return set, nil
}
