package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/examples/internal/progenv"
	"github.com/faceoptout/faceoptout/imageutil"
)

// benchRun is what one pipeline found in every photo, and how fast.
type benchRun struct {
	name    string
	foreign bool          // descriptors of another model than go-face's: no distance to the baseline
	faces   [][]benchFace // per photo
	elapsed time.Duration
	cpu     time.Duration // user+system CPU time of the process during the run
	errs    int
}

type benchFace struct {
	box image.Rectangle
	d   embed.Descriptor
}

// errNoBaseline is returned by goFaceBaseline when the command was built
// without the gofacebaseline tag.
var errNoBaseline = errors.New("go-face baseline not compiled in: build with -tags gofacebaseline")

// benchEmbed measures photos/s, faces found and descriptor agreement of the
// embed pipeline by MinFaceSize, against a full-size scan, face_recognition's
// default pipeline (HOG with one upsampling at full size, emulated with the
// same wrapper) and, when built with -tags gofacebaseline, plain go-face.
//
//	bench embed [--dir DIR] [--min-faces 40,80,120,160] [--workers N] [--fr]
func benchEmbed(ctx context.Context, env progenv.Getenv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench embed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory of JPEG photos (default $"+progenv.FacesEnv+"/idols, else ../shared/faces/idols)")
	minFaces := fs.String("min-faces", "40,80,120,160", "comma-separated MinFaceSize values to measure")
	fr := fs.Bool("fr", true, "also measure face_recognition's default pipeline (HOG, one upsampling, full size)")
	goDecode := fs.String("go-decode", "120", "comma-separated MinFaceSize values also measured through imageutil.Decode + Faces (Go's JPEG decoder) instead of FacesBytes")
	gofaceWorkers := fs.Int("goface-workers", 1, "goroutines calling go-face (it serialises on one recognizer)")
	nRounds := fs.Int("rounds", 1, "run every pipeline this many times, interleaved, and report each by its median round")
	onnxMinFaces := fs.String("onnx-min-faces", "", "comma-separated MinFaceSize values also measured with the ONNX embedder (embed/onnx, flags --onnx-*): same detection, another descriptor model")
	onnxSystems := fs.String("onnx-systems", "onnx", "with --onnx-min-faces: the ONNX settings measured, as bench eval --systems names them (e.g. onnx,onnx+flip+mean68)")
	ef := embedder.Register(fs, env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		*dir = filepath.Join(progenv.FacesDir("", env), "idols")
	}
	var onnxList []evalSystem
	if *onnxMinFaces != "" {
		var err error
		if onnxList, err = parseSystems(*onnxSystems, ef); err != nil {
			return fmt.Errorf("--onnx-systems: %w", err)
		}
		for _, s := range onnxList {
			if s.kind != embedder.ONNX || s.aug != (onnx.Augment{}) {
				return fmt.Errorf("--onnx-systems: %q: not an ONNX setting without enrolment views", s.name)
			}
		}
	}
	if ef.Kind != embedder.Dlib {
		return fmt.Errorf("--embedder %s: bench embed measures dlib's pipelines; --onnx-min-faces adds the ONNX embedder's rows", ef.Kind)
	}
	dcfg := ef.DlibConfig()
	dcfg.Workers = ef.Workers()
	cfg := &dcfg
	onnxSizes, err := intList(*onnxMinFaces)
	if err != nil {
		return fmt.Errorf("--onnx-min-faces: %w", err)
	}
	if *nRounds < 1 {
		return fmt.Errorf("--rounds %d: want at least 1", *nRounds)
	}
	files, err := filepath.Glob(filepath.Join(*dir, "*.jpg"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no *.jpg in %s (%v)", *dir, err)
	}
	sort.Strings(files)
	sizes, err := intList(*minFaces)
	if err != nil {
		return fmt.Errorf("--min-faces: %w", err)
	}
	goSizes, err := intList(*goDecode)
	if err != nil {
		return fmt.Errorf("--go-decode: %w", err)
	}

	// Decode once, to report decoding apart from the pipeline.
	t := time.Now()
	imgs := make([]image.Image, len(files))
	for i, f := range files {
		if imgs[i], err = decodeImage(f); err != nil {
			return err
		}
	}
	decode := time.Since(t)
	fmt.Fprintf(stdout, "%d photos from %s; decoding alone (imageutil.Decode): %.1f ms/photo on one core\n",
		len(files), *dir, ms(decode)/float64(len(files)))
	fmt.Fprintf(stdout, "embed workers: %d; times include decoding (files to descriptors, embed.FacesBytes); vs columns: wall-clock/CPU-time ratios\n\n", cfg.Workers)

	// run measures one configuration, files to descriptors: with
	// FacesBytes, or with goDecode through imageutil.Decode and Faces.
	run := func(name string, c embed.DlibConfig, goDecode bool) (*benchRun, error) {
		fmt.Fprintf(stderr, "running %s...\n", name)
		d, err := embed.NewDlib(c)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		return runPipeline(ctx, name, files, c.Workers, func(ctx context.Context, file string) ([]benchFace, error) {
			var faces []embed.Face
			if goDecode {
				img, err := decodeImage(file)
				if err != nil {
					return nil, err
				}
				faces, err = d.Faces(ctx, img)
				if err != nil {
					return nil, err
				}
			} else {
				data, err := os.ReadFile(file)
				if err != nil {
					return nil, err
				}
				if faces, err = d.FacesBytes(ctx, data); err != nil {
					return nil, err
				}
			}
			out := make([]benchFace, len(faces))
			for i, f := range faces {
				out[i] = benchFace{f.Box, f.Descriptor}
			}
			return out, nil
		})
	}

	// The pipelines, in the order they run and are reported. With
	// --rounds N the whole sequence runs N times (interleaved, so a slow
	// spell of the machine hits every pipeline alike) and each pipeline is
	// reported by its median round.
	type step struct {
		run  func() (*benchRun, error)
		base bool // go-face: the baseline when present
		fr   bool // face_recognition's default
		dlib int  // MinFaceSize of a dlib row through FacesBytes (0: another row)
		onnx int  // MinFaceSize of an ONNX row (0: another row)
	}
	// Full-size reference: the HOG at its native scale, no upsampling, no
	// retries: what go-face computes.
	full := *cfg
	full.Detector, full.MinFaceSize, full.NoCropRetry = embed.HOG, 80, true
	steps := []step{{run: func() (*benchRun, error) { return run("full size (HOG, scale 1)", full, false) }}}
	if goFaceCompiled {
		steps = append(steps, step{base: true, run: func() (*benchRun, error) {
			fmt.Fprintf(stderr, "running go-face...\n")
			return goFaceBaseline(ctx, files, cfg.ModelsDir, *gofaceWorkers)
		}})
	} else {
		fmt.Fprintf(stdout, "(%v; the full-size scan with this wrapper stands in for it)\n\n", errNoBaseline)
	}
	if *fr {
		c := *cfg
		c.Detector, c.MinFaceSize, c.MaxUpsamplePixels, c.NoCropRetry = embed.HOG, 40, 1<<30, true // face_recognition upsamples without bound
		steps = append(steps, step{fr: true, run: func() (*benchRun, error) {
			return run("face_recognition default (HOG, upsample 1, full size)", c, false)
		}})
	}
	for _, s := range sizes {
		c := *cfg
		c.MinFaceSize = s
		steps = append(steps, step{dlib: s, run: func() (*benchRun, error) {
			return run(fmt.Sprintf("MinFaceSize %d (%s)", s, c.Detector), c, false)
		}})
	}
	for _, s := range onnxSizes {
		for _, sys := range onnxList {
			oc := sys.onnx
			oc.Detection = *cfg
			oc.Detection.MinFaceSize = s
			steps = append(steps, step{onnx: s, run: func() (*benchRun, error) {
				name := fmt.Sprintf("MinFaceSize %d, %s (%s)", s, sys.name, oc.Model.Name)
				fmt.Fprintf(stderr, "running %s...\n", name)
				e, err := onnx.New(oc)
				if err != nil {
					return nil, err
				}
				defer e.Close()
				r, err := runPipeline(ctx, name, files, oc.Detection.Workers, func(ctx context.Context, file string) ([]benchFace, error) {
					data, err := os.ReadFile(file)
					if err != nil {
						return nil, err
					}
					faces, err := e.FacesBytes(ctx, data)
					out := make([]benchFace, len(faces))
					for i, f := range faces {
						out[i] = benchFace{f.Box, f.Descriptor}
					}
					return out, err
				})
				if r != nil {
					r.foreign = true
				}
				return r, err
			}})
		}
	}
	for _, s := range goSizes {
		c := *cfg
		c.MinFaceSize = s
		steps = append(steps, step{run: func() (*benchRun, error) {
			return run(fmt.Sprintf("MinFaceSize %d via imageutil.Decode+Faces (%s)", s, c.Detector), c, true)
		}})
	}
	rounds := make([][]*benchRun, len(steps)) // per step, per round
	for k := range *nRounds {
		if *nRounds > 1 {
			fmt.Fprintf(stderr, "round %d of %d\n", k+1, *nRounds)
		}
		for i, st := range steps {
			r, err := st.run()
			if err != nil {
				return err
			}
			rounds[i] = append(rounds[i], r)
		}
	}
	runs := make([]*benchRun, len(steps))
	base := (*benchRun)(nil)
	var frRun *benchRun
	for i, st := range steps {
		runs[i] = medianRun(rounds[i])
		if st.base {
			base = runs[i]
		}
		if st.fr {
			frRun = runs[i]
		}
	}
	if base == nil {
		base = runs[0]
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "pipeline\tphotos/s\tphotos/CPU-s\tvs %s\tvs face_rec\tfaces\tfound of %s\tdist p50\tdist p95\tdist max\terrors\t\n", short(base.name), short(base.name))
	n := float64(len(files))
	for _, r := range runs {
		ps, pc := n/r.elapsed.Seconds(), n/r.cpu.Seconds()
		vsFR := "-"
		if frRun != nil {
			vsFR = fmt.Sprintf("%.2fx/%.2fx", ps/(n/frRun.elapsed.Seconds()), pc/(n/frRun.cpu.Seconds()))
		}
		found, total, dists := agree(base, r)
		d50, d95, dmax := fmt.Sprintf("%.3f", quantile(dists, 0.5)), fmt.Sprintf("%.3f", quantile(dists, 0.95)), fmt.Sprintf("%.3f", quantile(dists, 1))
		if r.foreign {
			d50, d95, dmax = "-", "-", "-" // another model's descriptors
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2fx/%.2fx\t%s\t%d\t%d/%d\t%s\t%s\t%s\t%d\t\n", r.name, ps, pc,
			ps/(n/base.elapsed.Seconds()), pc/(n/base.cpu.Seconds()), vsFR, count(r), found, total,
			d50, d95, dmax, r.errs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Each ONNX row against dlib's row at the same MinFaceSize (the same
	// detection; only landmarks and descriptors differ).
	for i, st := range steps {
		if st.onnx == 0 {
			continue
		}
		for j, sd := range steps {
			if sd.dlib == st.onnx && sd.onnx == 0 {
				o, d := runs[i], runs[j]
				fmt.Fprintf(stdout, "\n%s vs dlib: %.2f vs %.2f photos/s (%.2fx), %.2f vs %.2f photos/CPU-s (%.2fx)\n", o.name,
					n/o.elapsed.Seconds(), n/d.elapsed.Seconds(), d.elapsed.Seconds()/o.elapsed.Seconds(),
					n/o.cpu.Seconds(), n/d.cpu.Seconds(), d.cpu.Seconds()/o.cpu.Seconds())
				break
			}
		}
	}
	for _, r := range runs[1:] {
		if missed := missedFaces(base, r, files); len(missed) > 0 {
			fmt.Fprintf(stdout, "%s misses: %s\n", r.name, strings.Join(missed, ", "))
		}
	}
	return nil
}

// medianRun returns the round with the median photos/s (the slower of the
// two middle rounds of an even count), with the spread of all rounds noted
// in its name when there are several.
func medianRun(rs []*benchRun) *benchRun {
	if len(rs) == 1 {
		return rs[0]
	}
	sorted := append([]*benchRun(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].elapsed > sorted[j].elapsed })
	m := *sorted[(len(sorted)-1)/2]
	n := float64(len(m.faces))
	m.name = fmt.Sprintf("%s [%d rounds %.2f-%.2f]", m.name, len(rs),
		n/sorted[0].elapsed.Seconds(), n/sorted[len(sorted)-1].elapsed.Seconds())
	return &m
}

// intList parses comma-separated integers; an empty string is no integer.
func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// runPipeline runs fn over files with workers goroutines.
func runPipeline(ctx context.Context, name string, files []string, workers int,
	fn func(context.Context, string) ([]benchFace, error)) (*benchRun, error) {
	r := &benchRun{name: name, faces: make([][]benchFace, len(files))}
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex // guards r.errs
	cpu0 := cpuTime()
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				faces, err := fn(ctx, files[i])
				if err != nil {
					mu.Lock()
					r.errs++
					mu.Unlock()
				}
				r.faces[i] = faces
			}
		}()
	}
	for i := range files {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	r.elapsed = time.Since(start)
	r.cpu = cpuTime() - cpu0
	return r, ctx.Err()
}

// cpuTime returns the user+system CPU time the process has used: photos per
// CPU-second compare pipelines fairly on a machine shared with other work.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func short(name string) string {
	if i := strings.Index(name, " ("); i > 0 {
		return name[:i]
	}
	return name
}

func count(r *benchRun) int {
	n := 0
	for _, f := range r.faces {
		n += len(f)
	}
	return n
}

// agree matches every face of ref to the face of r with the largest box
// overlap (IoU >= 0.4) and returns how many were found and the descriptor
// distances of the matched pairs.
func agree(ref, r *benchRun) (found, total int, dists []float64) {
	for i := range ref.faces {
		for _, a := range ref.faces[i] {
			total++
			if b, ok := match(a, r.faces[i]); ok {
				found++
				dists = append(dists, a.d.Distance(b.d))
			}
		}
	}
	return found, total, dists
}

func missedFaces(ref, r *benchRun, files []string) []string {
	var out []string
	for i := range ref.faces {
		for _, a := range ref.faces[i] {
			if _, ok := match(a, r.faces[i]); !ok {
				out = append(out, fmt.Sprintf("%s%v", filepath.Base(files[i]), a.box))
			}
		}
	}
	return out
}

func match(a benchFace, faces []benchFace) (benchFace, bool) {
	best, bestIoU := benchFace{}, 0.4
	ok := false
	for _, b := range faces {
		if v := iou(a.box, b.box); v >= bestIoU {
			best, bestIoU, ok = b, v, true
		}
	}
	return best, ok
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ai := float64(in.Dx() * in.Dy())
	return ai / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - ai)
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[int(math.Ceil(q*float64(len(s))))-1+boolInt(q == 0)]
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// decodeImage decodes an image file with imageutil's limits, orientation
// applied.
func decodeImage(file string) (image.Image, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := imageutil.Decode(f)
	if err != nil {
		return nil, err
	}
	return img.RGB, nil
}
