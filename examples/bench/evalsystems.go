package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/evaluation"
)

// evalSystem is one embedder setting `bench eval --systems` compares.
type evalSystem struct {
	name      string // as given, e.g. "onnx+flip@1.09"
	kind      string // embedder.Dlib or embedder.ONNX
	onnx      onnx.Config
	aug       onnx.Augment // enrolment views (ONNX only)
	threshold float64      // the global threshold (the model's unless @T)
	weak      float64      // the weak-face rule's radius (the model's unless +weakR)
}

// parseSystems parses --systems: comma-separated names, each dlib or onnx
// followed by options joined with +: dlib68, onnx68, mean68 (landmark
// source), detcrop (the landmark model's crop as its own pipeline makes
// it: onnx.DetectCrop), cropS (a crop S box widths wide, DetectCrop's
// offset), refineN (N extra landmark passes, LandmarkModelConfig.Refine),
// lids (five points as onnx.FiveLids takes them), edge (chip pixels
// outside the image repeat its edge: onnx.Config.EdgeFill), eyesnose
// (the similarity fitted to the eyes and nose only: onnx.Config.EyesNose),
// mouthW (the mouth corners weighted W in the fit: onnx.Config.MouthWeight),
// robustS (the fit reweighted by residuals of scale S chip pixels:
// onnx.Config.RobustScale),
// flip (flip-summed descriptors), noaa (no antialiasing),
// mirror, shiftN (enrolment views: the mirror image, chips shifted N chip
// pixels), weakR (weak-face rule radius R), and @T (global threshold T).
func parseSystems(list string, ef *embedder.Flags) ([]evalSystem, error) {
	var out []evalSystem
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		spec, at, _ := strings.Cut(name, "@")
		parts := strings.Split(spec, "+")
		s := evalSystem{name: name, kind: parts[0]}
		switch s.kind {
		case embedder.Dlib:
			s.threshold, s.weak = embed.DlibThreshold, embed.DlibWeakReview
		case embedder.ONNX:
			s.onnx = ef.ONNXConfig()
			s.threshold, s.weak = s.onnx.Model.Threshold, s.onnx.Model.WeakReview
		default:
			return nil, fmt.Errorf("--systems: %q: %q is neither dlib nor onnx", name, s.kind)
		}
		for _, o := range parts[1:] {
			bad := fmt.Errorf("--systems: %q: unknown option %q", name, o)
			switch {
			case strings.HasPrefix(o, "weak"):
				v, err := strconv.ParseFloat(strings.TrimPrefix(o, "weak"), 64)
				if err != nil || v < 0 || v > 2 {
					return nil, bad
				}
				s.weak = v
			case s.kind != embedder.ONNX:
				return nil, bad
			case o == "dlib68" || o == "onnx68" || o == "mean68":
				s.onnx.Landmarks = onnx.Landmarker(o)
			case o == "flip":
				s.onnx.Model.Flip = true
			case o == "noaa":
				s.onnx.NoAntialias = true
			case o == "eyesnose":
				s.onnx.EyesNose = true
			case strings.HasPrefix(o, "mouth"):
				v, err := strconv.ParseFloat(strings.TrimPrefix(o, "mouth"), 64)
				if err != nil || !(v > 0) || v > 100 {
					return nil, bad
				}
				s.onnx.MouthWeight = v
			case strings.HasPrefix(o, "robust"):
				v, err := strconv.ParseFloat(strings.TrimPrefix(o, "robust"), 64)
				if err != nil || !(v > 0) || v > 1000 {
					return nil, bad
				}
				s.onnx.RobustScale = v
			case o == "edge":
				s.onnx.EdgeFill = true
			case o == "lids":
				s.onnx.FivePoints = onnx.FiveLids
			case o == "detcrop":
				s.onnx.LandmarkModel.Crop = onnx.DetectCrop()
			case strings.HasPrefix(o, "crop"):
				v, err := strconv.ParseFloat(strings.TrimPrefix(o, "crop"), 64)
				if err != nil || !(v > 0) || v > 4 {
					return nil, bad
				}
				s.onnx.LandmarkModel.Crop = onnx.LandmarkCrop{Scale: v, OffsetY: onnx.DetectCrop().OffsetY}
			case strings.HasPrefix(o, "refine"):
				v, err := strconv.Atoi(strings.TrimPrefix(o, "refine"))
				if err != nil || v < 1 || v > 3 {
					return nil, bad
				}
				s.onnx.LandmarkModel.Refine = v
			case o == "mirror":
				s.aug.Mirror = true
			case strings.HasPrefix(o, "shift"):
				v, err := strconv.ParseFloat(strings.TrimPrefix(o, "shift"), 64)
				if err != nil || v <= 0 {
					return nil, bad
				}
				s.aug.Shift = v
			default:
				return nil, bad
			}
		}
		if at != "" {
			v, err := strconv.ParseFloat(at, 64)
			if err != nil || !(v > 0) {
				return nil, fmt.Errorf("--systems: %q: bad threshold %q", name, at)
			}
			s.threshold = v
		}
		if s.threshold == 0 {
			return nil, fmt.Errorf("--systems: %q: the model has no calibrated threshold: add @T", name)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--systems: no system")
	}
	return out, nil
}

// settings describes what changes the system's descriptors, for the cache.
func (s evalSystem) settings(ef *embedder.Flags) string {
	if s.kind == embedder.Dlib {
		k := ef.DlibConfig()
		k.Workers = 0
		return fmt.Sprintf("dlib %+v", k)
	}
	oc := s.onnx
	oc.Detection.Workers = 0
	oc.Model.Threshold, oc.Model.WeakReview = 0, 0
	oc.Model.Optimization, oc.LandmarkModel.Optimization = "", ""
	return fmt.Sprintf("onnx %+v aug %+v", oc, s.aug)
}

// cacheName is the name without what does not change the descriptors
// (the threshold and the weak-face rule), joined with _.
func (s evalSystem) cacheName() string {
	spec, _, _ := strings.Cut(s.name, "@")
	var keep []string
	for _, o := range strings.Split(spec, "+") {
		if !strings.HasPrefix(o, "weak") {
			keep = append(keep, strings.ReplaceAll(o, "/", "_"))
		}
	}
	return strings.Join(keep, "_")
}

// embed embeds dir with the system, or reads it from cache (a file per
// system's descriptors: cache + "." + cacheName; the key checks it).
func (s evalSystem) embed(ctx context.Context, dir string, mode evaluation.LabelMode, ef *embedder.Flags, cache string, stderr io.Writer) (*evaluation.Set, error) {
	var key, file string
	if cache != "" {
		var err error
		if key, err = evaluation.FolderKey(dir, mode, s.settings(ef)); err != nil {
			return nil, err
		}
		file = cache + "." + s.cacheName()
		if f, err := os.Open(file); err == nil {
			set, skipped, err := evaluation.ReadSet(f, key)
			f.Close()
			if err == nil {
				fmt.Fprintf(stderr, "%s: faces from %s (%d faces, %d images skipped)\n", s.name, file, len(set.Faces), len(skipped))
				return set, nil
			}
		}
	}
	var faces evaluation.FacesFunc
	var closer func() error
	if s.kind == embedder.Dlib {
		d, err := ef.NewDlib()
		if err != nil {
			return nil, err
		}
		faces = func(ctx context.Context, img image.Image) ([]embed.Face, [][]embed.Descriptor, error) {
			f, err := d.Faces(ctx, img)
			return f, nil, err
		}
		closer = d.Close
	} else {
		e, err := onnx.New(s.onnx)
		if err != nil {
			return nil, err
		}
		aug := s.aug
		faces = func(ctx context.Context, img image.Image) ([]embed.Face, [][]embed.Descriptor, error) {
			if aug == (onnx.Augment{}) {
				f, err := e.Faces(ctx, img)
				return f, nil, err
			}
			af, err := e.FacesAugmented(ctx, img, aug)
			if err != nil {
				return nil, nil, err
			}
			f := make([]embed.Face, len(af))
			x := make([][]embed.Descriptor, len(af))
			for i := range af {
				f[i], x[i] = af[i].Face, af[i].Extra
			}
			return f, x, nil
		}
		closer = e.Close
	}
	set, skipped, err := evaluation.EmbedFolderFunc(ctx, faces, dir, mode)
	closer()
	for _, sk := range skipped {
		fmt.Fprintf(stderr, "%s: skipped %s: %s\n", s.name, sk.File, sk.Reason)
	}
	if err != nil || file == "" {
		return set, err
	}
	var b bytes.Buffer
	if err := evaluation.WriteSet(&b, key, set, skipped); err != nil {
		return nil, err
	}
	return set, os.WriteFile(file, b.Bytes(), 0o600)
}

// evalSystems is `bench eval --images DIR --systems LIST`: every system
// embeds the same photos and is measured under the same splits (the
// protocol's seed), its global threshold alone and its default (global
// threshold with the weak-face rule at its radius), in one table; then a
// threshold sweep of the global threshold around each system's own.
func evalSystems(ctx context.Context, w io.Writer, systems []evalSystem, images string, mode evaluation.LabelMode, ef *embedder.Flags,
	cache string, p evaluation.Protocol, weakScore float64, sweep []float64, reps int, stderr io.Writer) ([]evaluation.Result, error) {
	var results []evaluation.Result
	type swept struct {
		name string
		sc   *evaluation.Scores
		t    float64
	}
	var sweeps []swept
	var lines []string
	for _, s := range systems {
		set, err := s.embed(ctx, images, mode, ef, cache, stderr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		splits, err := p.Partition(set, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		people, _ := set.People()
		extra := 0
		for _, f := range set.Faces {
			extra += len(f.Extra)
		}
		lines = append(lines, fmt.Sprintf("%s: %d faces of %d people (%d extra enrolment views)", s.name, len(set.Faces), len(people), extra))
		weak := exclusion.DefaultFilterConfig().WeakFaces
		weak.MaxScore, weak.Review = weakScore, s.weak
		weak.Disabled = weak.MaxScore <= 0 || weak.Review <= 0
		tm := evaluation.ThresholdMethod(s.threshold, s.threshold, &evaluation.VerdictCounts{})
		tm.Label = fmt.Sprintf("%s: global %.3f", s.name, s.threshold)
		dm := evaluation.ThresholdMethod(s.threshold, s.threshold, &evaluation.VerdictCounts{})
		dm.Weak = weak
		dm.Label = fmt.Sprintf("%s: global %.3f + weak-face rule (score < %.2f: review within %.2f)", s.name, s.threshold, weak.MaxScore, weak.Review)
		ms := []*evaluation.PolicyMethod{tm}
		if !weak.Disabled {
			ms = append(ms, dm)
		}
		for _, m := range ms {
			sc, err := evaluation.Run(m, splits)
			if err != nil {
				return nil, err
			}
			results = append(results, evaluation.Result{Method: m.Name(), Scores: sc, Block: s.threshold, Review: s.threshold, Verdicts: m.Verdicts})
			if m == tm {
				sweeps = append(sweeps, swept{s.name, sc, s.threshold})
			}
		}
	}
	title := fmt.Sprintf("%s: protocol %d enrolled x %d photos, %d cohort people, strangers %s, %d splits, seed %d",
		images, p.Enrolled, p.PerPerson, p.Cohort, strangers(p.Strangers), p.Splits, p.Seed)
	fmt.Fprintf(w, "Systems (same photos, same splits):\n\n")
	for _, l := range lines {
		fmt.Fprintf(w, "- %s\n", l)
	}
	fmt.Fprintln(w)
	if err := evaluation.WriteMarkdown(w, title, results, reps); err != nil {
		return nil, err
	}
	if len(sweep) > 0 {
		fmt.Fprintf(w, "Global threshold sweep around each system's own threshold T (FNMR / FPIR, pooled over splits):\n\n| system |")
		for _, d := range sweep {
			fmt.Fprintf(w, " T%+.2f |", d)
		}
		fmt.Fprint(w, "\n| --- |")
		for range sweep {
			fmt.Fprint(w, " --- |")
		}
		fmt.Fprintln(w)
		for _, s := range sweeps {
			fmt.Fprintf(w, "| %s (T %.3f) |", s.name, s.t)
			for _, d := range sweep {
				f, p := s.sc.At(s.t + d)
				fmt.Fprintf(w, " %.1f %% / %.1f %% |", 100*f.Value(), 100*p.Value())
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	return results, nil
}
