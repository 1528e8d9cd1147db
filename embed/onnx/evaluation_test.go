package onnx_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// evaluate runs TestEvaluation, which writes the tables of EVALUATION.md:
//
//	go test ./embed/onnx -run TestEvaluation -evaluate -v -timeout 60m
var (
	evaluate     = flag.Bool("evaluate", false, "run TestEvaluation (dlib vs ONNX on the shared faces; minutes)")
	evalSets     = flag.String("eval.sets", "idols,eastasian,bbt", "TestEvaluation: comma-separated sets")
	evalSystems  = flag.String("eval.systems", "dlib,onnx-dlib68,onnx-onnx68", "TestEvaluation: comma-separated embedders: dlib, onnx-dlib68, onnx-onnx68, with +flip for flip-summed ONNX descriptors, then +noaa for NoAntialias")
	evalSpeed    = flag.Bool("eval.speed", true, "TestEvaluation: also measure photos/s on faces/idols")
	evalTreshold = flag.Float64("eval.threshold", defaultThreshold, "TestEvaluation: the ONNX threshold reported")
)

// defaultThreshold is the ONNX threshold TestEvaluation reports by default:
// the default ONNX embedder's (Euclidean on unit vectors).
const defaultThreshold = onnx.DefaultThreshold

// photo is one labelled photo of an evaluation set.
type photo struct {
	path, label string
}

// loadSet lists the photos of a set: idols (label = file name without
// trailing digits), eastasian (folder = person) or bbt crops.
func loadSet(t *testing.T, set string) []photo {
	t.Helper()
	dir := filepath.Join(testenv.Faces(t), set)
	var out []photo
	trailing := regexp.MustCompile(`[0-9]+$`)
	switch set {
	case "idols":
		files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".jpg")
			out = append(out, photo{f, trailing.ReplaceAllString(name, "")})
		}
	default:
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			files, _ := filepath.Glob(filepath.Join(dir, e.Name(), "*"))
			for _, f := range files {
				if ext := strings.ToLower(filepath.Ext(f)); ext == ".jpg" || ext == ".png" {
					out = append(out, photo{f, e.Name()})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	if len(out) == 0 {
		t.Fatalf("no photos in %s", dir)
	}
	return out
}

// bytesEmbedder is what the evaluation needs of an embedder.
type bytesEmbedder interface {
	FacesBytes(ctx context.Context, data []byte) ([]embed.Face, error)
}

// describeSet returns the descriptor of each photo's largest face (nil
// when none was found).
func describeSet(t *testing.T, e bytesEmbedder, photos []photo) []embed.Descriptor {
	t.Helper()
	out := make([]embed.Descriptor, len(photos))
	for i, p := range photos {
		data, err := os.ReadFile(p.path)
		if err != nil {
			t.Fatal(err)
		}
		faces, err := e.FacesBytes(context.Background(), data)
		if err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		if f, err := embed.Largest(faces); err == nil {
			out[i] = f.Descriptor
		}
	}
	return out
}

// scores are the metrics of one embedder on one set.
type scores struct {
	genuine, impostor []float64
	eer, eerT         float64
	fnmrAt1           float64
	rank1             float64
	probes, noFace    int
}

func measure(photos []photo, descs []embed.Descriptor) scores {
	var s scores
	for i := range photos {
		if descs[i] == nil {
			s.noFace++
			continue
		}
		best, bestLabel, mated := math.Inf(1), "", false
		for j := range photos {
			if j == i || descs[j] == nil {
				continue
			}
			d := descs[i].Distance(descs[j])
			if photos[i].label == photos[j].label {
				mated = true
				if j > i {
					s.genuine = append(s.genuine, d)
				}
			} else if j > i {
				s.impostor = append(s.impostor, d)
			}
			if d < best {
				best, bestLabel = d, photos[j].label
			}
		}
		if mated {
			s.probes++
			if bestLabel == photos[i].label {
				s.rank1++
			}
		}
	}
	if s.probes > 0 {
		s.rank1 /= float64(s.probes)
	}
	sort.Float64s(s.genuine)
	sort.Float64s(s.impostor)
	// EER: the threshold where max(FMR, FNMR) is least.
	s.eer = 1
	cands := append(append([]float64{}, s.genuine...), s.impostor...)
	for _, t := range cands {
		fmr, fnmr := rateBelow(s.impostor, t), 1-rateBelow(s.genuine, t)
		if m := math.Max(fmr, fnmr); m < s.eer {
			s.eer, s.eerT = m, t
		}
	}
	// FNMR at FMR 1 %: the largest threshold whose FMR is at most 1 %.
	k := int(math.Floor(0.01 * float64(len(s.impostor))))
	t := -1.0
	if k > 0 {
		t = math.Nextafter(s.impostor[k], -1)
	}
	s.fnmrAt1 = 1 - rateBelow(s.genuine, t)
	return s
}

// rateBelow is the share of sorted xs at or below t.
func rateBelow(xs []float64, t float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return float64(sort.SearchFloat64s(xs, math.Nextafter(t, math.Inf(1)))) / float64(len(xs))
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return xs[min(len(xs)-1, int(q*float64(len(xs))))]
}

// openSet runs the watch-list protocol at threshold t: in each of splits
// random splits, half the people enrol their first photo; their other
// photos are mated probes (let through when no enrolled face is within
// t), every photo of the other half is a stranger (kept out when an
// enrolled face is within t). It returns the pooled FNMR and FPIR.
func openSet(photos []photo, descs []embed.Descriptor, t float64, splits int) (fnmr, fpir float64, mated, strangers int) {
	byLabel := map[string][]int{}
	var labels []string
	for i := range photos {
		if descs[i] == nil {
			continue
		}
		if byLabel[photos[i].label] == nil {
			labels = append(labels, photos[i].label)
		}
		byLabel[photos[i].label] = append(byLabel[photos[i].label], i)
	}
	sort.Strings(labels)
	rng := rand.New(rand.NewPCG(1, 2))
	var missed, kept int
	for range splits {
		perm := rng.Perm(len(labels))
		var gallery []int
		enrolled := map[string]bool{}
		for _, k := range perm[:len(perm)/2] {
			enrolled[labels[k]] = true
			gallery = append(gallery, byLabel[labels[k]][0])
		}
		within := func(i int) bool {
			for _, g := range gallery {
				if g != i && descs[i].Distance(descs[g]) <= t {
					return true
				}
			}
			return false
		}
		for _, l := range labels {
			for n, i := range byLabel[l] {
				switch {
				case enrolled[l] && n > 0:
					mated++
					if !within(i) {
						missed++
					}
				case !enrolled[l]:
					strangers++
					if within(i) {
						kept++
					}
				}
			}
		}
	}
	return float64(missed) / float64(max(mated, 1)), float64(kept) / float64(max(strangers, 1)), mated, strangers
}

// system is one embedder under evaluation.
type system struct {
	name      string
	threshold float64 // the default threshold reported
	e         bytesEmbedder
	close     func() error
}

func newSystems(t *testing.T, names []string, workers, minFace int, onnxThreshold float64) []system {
	t.Helper()
	dir := testenv.Models(t)
	var out []system
	for _, name := range names {
		if name == "dlib" {
			dc := embed.DefaultDlibConfig()
			dc.ModelsDir, dc.Workers, dc.MinFaceSize = dir, workers, minFace
			d, err := embed.NewDlib(dc)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, system{"dlib (embed.Dlib)", 0.6, d, d.Close})
			continue
		}
		cfg := onnxConfig(t)
		cfg.Detection.Workers, cfg.Detection.MinFaceSize = workers, minFace
		base, noAA := strings.CutSuffix(name, "+noaa")
		base, flip := strings.CutSuffix(base, "+flip")
		cfg.Model.Flip, cfg.NoAntialias = flip, noAA
		switch base {
		case "onnx-dlib68":
			cfg.Landmarks = onnx.Dlib68
		case "onnx-onnx68":
			cfg.Landmarks = onnx.ONNX68
		default:
			t.Fatalf("unknown embedder %q", name)
		}
		e, err := onnx.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		label := "onnx, " + string(cfg.Landmarks) + " landmarks"
		if flip {
			label += ", flip"
		}
		if noAA {
			label += ", no antialias"
		}
		out = append(out, system{label, onnxThreshold, e, e.Close})
	}
	return out
}

// TestEvaluation measures dlib and the ONNX embedder (both landmark
// sources) side by side on faces/idols photos, faces/eastasian and
// faces/bbt crops, and their speed on faces/idols; it prints the tables
// of EVALUATION.md.
func TestEvaluation(t *testing.T) {
	if !*evaluate {
		t.Skip("run with -evaluate")
	}
	systems := newSystems(t, strings.Split(*evalSystems, ","), 2, 80, *evalTreshold)
	defer func() {
		for _, s := range systems {
			s.close()
		}
	}()
	sets := strings.Split(*evalSets, ",")
	fmt.Printf("| set | embedder | photos (no face) | genuine / impostor pairs | genuine d p5 / p50 / p95 | impostor d p5 / p50 / p95 | EER (at d) | FNMR @ FMR 1 %% | rank-1 | default d | open-set FNMR / FPIR at default (mated / strangers) |\n")
	fmt.Printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, set := range sets {
		photos := loadSet(t, set)
		for _, s := range systems {
			descs := describeSet(t, s.e, photos)
			m := measure(photos, descs)
			fnmr, fpir, mated, strangers := openSet(photos, descs, s.threshold, 20)
			fmt.Printf("| %s | %s | %d (%d) | %d / %d | %.3f / %.3f / %.3f | %.3f / %.3f / %.3f | %.3f (%.3f) | %.3f | %.3f | %.2f | %.3f / %.3f (%d / %d) |\n",
				set, s.name, len(photos), m.noFace, len(m.genuine), len(m.impostor),
				quantile(m.genuine, 0.05), quantile(m.genuine, 0.5), quantile(m.genuine, 0.95),
				quantile(m.impostor, 0.05), quantile(m.impostor, 0.5), quantile(m.impostor, 0.95),
				m.eer, m.eerT, m.fnmrAt1, m.rank1, s.threshold, fnmr, fpir, mated, strangers)
			if set == "eastasian" {
				// The open-set curve, and the threshold where the larger of
				// FNMR and FPIR is least (0.005 steps).
				lo, hi := 0.30, 1.40
				if s.threshold < 1 {
					lo, hi = 0.30, 0.80
				}
				bestT, bestM, bestFN, bestFP := 0.0, 2.0, 0.0, 0.0
				var curve []string
				for k := 0; lo+float64(k)*0.005 <= hi+1e-9; k++ {
					th := lo + float64(k)*0.005
					fn, fp, _, _ := openSet(photos, descs, th, 20)
					if m := math.Max(fn, fp); m < bestM {
						bestT, bestM, bestFN, bestFP = th, m, fn, fp
					}
					if k%4 == 0 && fn < 0.5 && fp < 0.5 {
						curve = append(curve, fmt.Sprintf("%.2f: %.3f/%.3f", th, fn, fp))
					}
				}
				t.Logf("%s on eastasian: open-set FNMR/FPIR by d: %s", s.name, strings.Join(curve, ", "))
				fmt.Printf("| eastasian, balanced | %s | | | | | | | | %.3f | %.3f / %.3f |\n", s.name, bestT, bestFN, bestFP)
			}
		}
	}
	if !*evalSpeed {
		return
	}
	// Speed: photos/s on faces/idols, files to descriptors, 2 workers and
	// 2 goroutines each, 3 interleaved rounds, median.
	photos := loadSet(t, "idols")
	data := make([][]byte, len(photos))
	for i, p := range photos {
		var err error
		if data[i], err = os.ReadFile(p.path); err != nil {
			t.Fatal(err)
		}
	}
	rates := make([][]float64, len(systems))
	for range 3 {
		for k, s := range systems {
			start := time.Now()
			var wg sync.WaitGroup
			next := make(chan []byte)
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for b := range next {
						if _, err := s.e.FacesBytes(context.Background(), b); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			for _, b := range data {
				next <- b
			}
			close(next)
			wg.Wait()
			rates[k] = append(rates[k], float64(len(data))/time.Since(start).Seconds())
		}
	}
	fmt.Printf("\n| embedder (MinFaceSize 80, 2 workers) | photos/s, median [range of 3 rounds] |\n| --- | --- |\n")
	for k, s := range systems {
		r := append([]float64{}, rates[k]...)
		sort.Float64s(r)
		fmt.Printf("| %s | %.2f [%.2f-%.2f] |\n", s.name, r[1], r[0], r[2])
	}
}
