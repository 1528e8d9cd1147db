package evaluation

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/faceoptout/faceoptout/exclusion"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Result is one method's evaluation on one set.
type Result struct {
	Method string
	Scores *Scores
	// Block and Review are the method's default thresholds (score units).
	Block, Review float64
	// Verdicts counts Decide's verdicts at the defaults (nil if not run).
	Verdicts *VerdictCounts
}

// FPIRTargets are the FPIR values the Markdown table reports FNMR at.
var FPIRTargets = []float64{0.001, 0.01, 0.05, 0.10, 0.20, 0.30, 0.50}

func pct(x float64) string { return fmt.Sprintf("%.1f %%", 100*x) }

func rate(r Rate) string {
	return fmt.Sprintf("%s [%s, %s] (%d/%d)", pct(r.Value()), pct(r.Lo), pct(r.Hi), r.K, r.N)
}

// WriteMarkdown writes, for each result, the rates at its default
// thresholds (Wilson 95 % intervals on pooled probes), the verdict shares,
// and FNMR at fixed FPIRs (95 % bootstrap intervals over splits).
func WriteMarkdown(w io.Writer, title string, results []Result, reps int) error {
	fmt.Fprintf(w, "### %s\n\n", title)
	if len(results) > 0 {
		s := results[0].Scores
		fmt.Fprintf(w, "%d splits, %d mated probes, %d stranger probes in all.\n\n", s.Splits, len(s.Mated), len(s.Strangers))
	}
	fmt.Fprintln(w, "At the default thresholds (kept out = blocked or sent to review; FNMR counts mated probes allowed):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| method | FNMR (allowed) | FPIR (kept out) | mated: block / review | strangers: block / review |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, r := range results {
		f, p := r.Scores.At(r.Review)
		mb, mr, sb, sr := "-", "-", "-", "-"
		if v := r.Verdicts; v != nil {
			nm, ns := len(r.Scores.Mated), len(r.Scores.Strangers)
			// The policy's own verdicts (with its radius) are the figures.
			f = Wilson(v.Mated[exclusion.Allow], nm, Z95)
			p = Wilson(ns-v.Strangers[exclusion.Allow], ns, Z95)
			mb, mr = pct(float64(v.Mated[exclusion.Block])/float64(max1(nm))), pct(float64(v.Mated[exclusion.Review])/float64(max1(nm)))
			sb, sr = pct(float64(v.Strangers[exclusion.Block])/float64(max1(ns))), pct(float64(v.Strangers[exclusion.Review])/float64(max1(ns)))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s / %s | %s / %s |\n", r.Method, rate(f), rate(p), mb, mr, sb, sr)
	}
	fmt.Fprintln(w)
	for _, r := range results {
		if v := r.Verdicts; v != nil && v.WeakMated+v.WeakStrangers > 0 {
			fmt.Fprintf(w, "%s: the weak-face rule sent %d mated and %d stranger probes to review.\n\n", r.Method, v.WeakMated, v.WeakStrangers)
		}
	}
	fmt.Fprintln(w, "| method | largest mated score | smallest stranger score |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %.3f | %.3f |\n", r.Method, slices.Max(append([]float64{math.Inf(-1)}, r.Scores.Mated...)), slices.Min(append([]float64{math.Inf(1)}, r.Scores.Strangers...)))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "FNMR at the threshold that keeps FPIR at or below each target (95 % bootstrap over splits):")
	fmt.Fprintln(w)
	fmt.Fprint(w, "| method |")
	for _, t := range FPIRTargets {
		fmt.Fprintf(w, " FPIR %s |", pct(t))
	}
	fmt.Fprint(w, "\n| --- |")
	for range FPIRTargets {
		fmt.Fprint(w, " --- |")
	}
	fmt.Fprintln(w)
	for _, r := range results {
		fmt.Fprintf(w, "| %s |", r.Method)
		for _, t := range FPIRTargets {
			f, th, lo, hi := r.Scores.FNMRAtFPIR(t, reps)
			fmt.Fprintf(w, " %s [%s, %s] %s |", pct(f), pct(lo), pct(hi), at(th))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	return nil
}

// at formats a threshold; thresholds beyond the policy's radius (no finite
// score) print as "any".
func at(t float64) string {
	if t > 1e300 {
		return "@any"
	}
	return fmt.Sprintf("@%.3f", t)
}

// WriteDET draws the DET curves (FNMR against FPIR, log-log) as a PNG.
func WriteDET(w io.Writer, title string, results []Result) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "FPIR (strangers kept out)"
	p.Y.Label.Text = "FNMR (opted-out faces allowed)"
	p.X.Scale = plot.LogScale{}
	p.Y.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	const floor = 1e-3
	for i, r := range results {
		var xy plotter.XYs
		for _, pt := range r.Scores.DET(400) {
			x, y := math.Max(pt.FPIR, floor), math.Max(pt.FNMR, floor)
			xy = append(xy, plotter.XY{X: x, Y: y})
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(r.Method, l)
		f, q := r.Scores.At(r.Block)
		pt, err := plotter.NewScatter(plotter.XYs{{X: math.Max(q.Value(), floor), Y: math.Max(f.Value(), floor)}})
		if err != nil {
			return err
		}
		pt.Color = plotutil.Color(i)
		pt.Shape = plotutil.Shape(i)
		p.Add(pt)
	}
	p.Legend.Top = false
	p.Legend.Left = true
	p.X.Min, p.Y.Min = floor, floor
	p.X.Max, p.Y.Max = 1, 1
	wt, err := p.WriterTo(7*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

// WriteScaleMarkdown writes FPIR against the number of enrolled faces.
func WriteScaleMarkdown(w io.Writer, pts []ScalePoint) {
	fmt.Fprintln(w, "| enrolled faces | threshold | FPIR measured (95 % Wilson) | 1-(1-FMR)^N |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, p := range pts {
		fmt.Fprintf(w, "| %d | %.2f | %s | %s |\n", p.N, p.Threshold, rate(p.FPIR), pct(p.Predicted))
	}
	fmt.Fprintln(w)
}

// WriteCurveMarkdown writes FNMR at each FPIR target only (for methods
// without default thresholds, such as Research), with the bootstrap
// interval over splits.
func WriteCurveMarkdown(w io.Writer, results []Result, targets []float64, reps int) {
	fmt.Fprint(w, "| method |")
	for _, t := range targets {
		fmt.Fprintf(w, " FNMR @ FPIR %s |", pct(t))
	}
	fmt.Fprint(w, "\n| --- |")
	for range targets {
		fmt.Fprint(w, " --- |")
	}
	fmt.Fprintln(w)
	for _, r := range results {
		fmt.Fprintf(w, "| %s |", r.Method)
		for _, t := range targets {
			f, _, lo, hi := r.Scores.FNMRAtFPIR(t, reps)
			fmt.Fprintf(w, " %s [%s, %s] |", pct(f), pct(lo), pct(hi))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}
