package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/examples/internal/progenv"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
	"github.com/faceoptout/faceoptout/imageutil"
)

// mixFile is one image of the crawl mix.
type mixFile struct {
	path string
	kind string
}

// benchFilter measures the exclusion Filter on a crawl mix built from the
// shared photos and generated images, against bare FacesBytes on the same
// files and, with -tags gofacebaseline, plain go-face; with registries of
// several sizes (facesim descriptors in bulk plus three real faces/bbt
// enrolments and one image removal, so that some images block).
//
//	bench filter [--embedder dlib|onnx] [--enrolled 0,10000] [--rounds 3] [--mix crawl|rotated] [--cache DIR]
//
// With --embedder onnx the registry holds the ONNX model's descriptors
// (bulk: facesim fitted to the model's descriptors of faces/eastasian,
// see bulkDescriptors) and the rows dlibfilter and dlibfacesbytes put the
// dlib embedder's Filter (over a dlib registry of the same size) and bare
// FacesBytes beside it in the same run.
func benchFilter(ctx context.Context, env progenv.Getenv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench filter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	facesDir := fs.String("faces", "", "shared faces directory (default $"+progenv.FacesEnv+", else ../shared/faces)")
	enrolledFlag := fs.String("enrolled", "0,10000", "comma-separated registry sizes (enrolled faces) to measure")
	nRounds := fs.Int("rounds", 3, "run every row this many times, interleaved, and report each by its median round")
	mix := fs.String("mix", "crawl", "crawl: the crawl mix; rotated: EXIF-less turned copies of the faces/bbt and faces/idols photos (what turned scans catch)")
	cache := fs.String("cache", filepath.Join(os.TempDir(), "faceoptout-crawlmix"), "directory for the generated mix (reused when present)")
	rowsFlag := fs.String("rows", "filter,upright,batch,imageutil,facesbytes,goface,gofaceasis", "rows to run (goface: go-face on JPEG copies of the non-JPEG images; gofaceasis: on the files as they are; with --embedder onnx also dlibfilter and dlibfacesbytes: the dlib embedder's Filter over a dlib registry of the same size, and its bare FacesBytes)")
	widen := fs.Float64("widen", 0, "facesim between-person widening for the bulk enrolments (0: 7 for dlib, fitted to idols.json; 1 for onnx, fitted to faces/eastasian)")
	shrink := fs.Float64("shrink", -1, "facesim shrinkage of the bulk's covariances towards isotropic ones, in [0, 1] (facesim.Model.Shrink; negative: 0 for dlib, "+fmt.Sprint(defaultShrink(embedder.ONNX))+" for onnx)")
	storeFlag := fs.String("store", "auto", "registry store: bolt (boltstore, one fsync per write), memory (in memory, same Submit and Approve) or auto (memory above 100000 enrolled faces)")
	byClass := fs.Bool("by-class", false, "instead of the rows' tables, CPU time per image of go-face (JPEG copies), bare FacesBytes and the Filter for every kind of image of the mix (rows goface, facesbytes, filter, upright, dlibfilter among --rows), at the first registry size")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of every row's round to PREFIX-ROW-ENROLLED-ROUND.pprof and of the registry's building to PREFIX-registry-ENROLLED.pprof")
	ef := embedder.Register(fs, env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *storeFlag != "auto" && *storeFlag != "bolt" && *storeFlag != "memory" {
		return fmt.Errorf("--store %q: want auto, bolt or memory", *storeFlag)
	}
	if *nRounds < 1 {
		return fmt.Errorf("--rounds %d: want at least 1", *nRounds)
	}
	faces := progenv.FacesDir(*facesDir, env)
	sizes, err := intList(*enrolledFlag)
	if err != nil {
		return fmt.Errorf("--enrolled: %w", err)
	}
	rows := map[string]bool{}
	for _, r := range strings.Split(*rowsFlag, ",") {
		rows[strings.TrimSpace(r)] = true
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
	}

	var files []mixFile
	switch *mix {
	case "crawl":
		files, err = crawlMix(faces, filepath.Join(*cache, "crawl"), logf)
	case "rotated":
		files, err = rotatedMix(faces, filepath.Join(*cache, "rotated"), logf)
	default:
		err = fmt.Errorf("--mix %q: want crawl or rotated", *mix)
	}
	if err != nil {
		return err
	}
	kinds := map[string]int{}
	var total int64
	for _, f := range files {
		kinds[f.kind]++
		if fi, err := os.Stat(f.path); err == nil {
			total += fi.Size()
		}
	}
	webpNote := "WebP copies made by cwebp"
	if kinds["webp"] == 0 {
		webpNote = "no WebP copies (cwebp not installed: make bench-deps)"
	}
	fmt.Fprintf(stdout, "%s mix: %d images, %.1f MB (%s); %s\n",
		*mix, len(files), float64(total)/1e6, kindList(kinds), webpNote)

	dcfg := ef.DlibConfig()
	var (
		emb     benchEmbedder
		dlibEmb *embed.Dlib // the dlib rows beside another embedder
	)
	if ef.Kind == embedder.ONNX {
		oe, err := onnx.New(ef.ONNXConfig())
		if err != nil {
			return err
		}
		defer oe.Close()
		emb = oe
		if rows["dlibfilter"] || rows["dlibfacesbytes"] {
			if dlibEmb, err = embed.NewDlib(dcfg); err != nil {
				return err
			}
			defer dlibEmb.Close()
		}
	} else {
		d, err := embed.NewDlib(dcfg)
		if err != nil {
			return err
		}
		defer d.Close()
		emb = d
		delete(rows, "dlibfilter")
		delete(rows, "dlibfacesbytes")
	}
	if *widen == 0 {
		*widen = defaultWiden(ef.Kind)
	}
	if *shrink < 0 {
		*shrink = defaultShrink(ef.Kind)
	}
	// OpenBLAS (dlib's and go-face's descriptor network) picks its kernels
	// from the CPU model unless OPENBLAS_CORETYPE names them: the figures
	// depend on it, for every row alike.
	blasCore := "OPENBLAS_CORETYPE unset"
	if env != nil {
		if c := env("OPENBLAS_CORETYPE"); c != "" {
			blasCore = "OPENBLAS_CORETYPE=" + c
		}
	}
	fmt.Fprintf(stdout, "embedder %s (model %s, dimension %d, threshold %g): MinFaceSize %d, %d workers, GOMAXPROCS %d; %s; load %s\n",
		ef.Kind, emb.Model().Name, emb.Model().Dim, emb.Model().Threshold, dcfg.MinFaceSize, dcfg.Workers, runtime.GOMAXPROCS(0), blasCore, loadAvg())

	for i, n := range sizes {
		if i == 1 {
			// go-face does not read the registry: measured at the first size only.
			delete(rows, "goface")
			delete(rows, "gofaceasis")
		}
		inMemory := *storeFlag == "memory" || (*storeFlag == "auto" && n > 100000)
		if err := filterSize(ctx, stdout, logf, emb, dlibEmb, dcfg, faces, files, n, *nRounds, *widen, *shrink, rows, inMemory, *cpuProfile, *cache, *byClass); err != nil {
			return err
		}
		if *byClass {
			break
		}
	}
	fmt.Fprintf(stdout, "load at the end: %s\n", loadAvg())
	return nil
}

// filterRun is one row's round.
type filterRun struct {
	name     string
	elapsed  time.Duration
	cpu      time.Duration // user+system CPU time of the process during the run
	lat      []time.Duration
	peakRSS  int64
	verdicts map[string]int
	byKind   map[string]map[string]int // kind -> verdict -> count
}

// count adds image i's verdict v.
func (r *filterRun) count(kind, v string) {
	r.verdicts[v]++
	if r.byKind == nil {
		r.byKind = map[string]map[string]int{}
	}
	if r.byKind[kind] == nil {
		r.byKind[kind] = map[string]int{}
	}
	r.byKind[kind][v]++
}

// filterSize builds a registry of n enrolled faces and runs the rows.
// With dlibEmb (not nil), the dlib rows run over a second registry of n
// dlib faces.
func filterSize(ctx context.Context, stdout io.Writer, logf func(string, ...any), emb benchEmbedder, dlibEmb *embed.Dlib, dcfg embed.DlibConfig,
	faces string, files []mixFile, n, rounds int, widen, shrink float64, rows map[string]bool, inMemory bool, cpuProfile, cache string, byClass bool) error {
	goFaceJPEGDir := filepath.Join(cache, "goface-jpeg")
	dir, err := os.MkdirTemp("", "faceoptout-benchfilter-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t := time.Now()
	storeName := "boltstore"
	if inMemory {
		storeName = "in-memory store"
	}
	stop, err := startProfile(cpuProfile, fmt.Sprintf("registry-%d", n))
	if err != nil {
		return err
	}
	bulk, bulkDesc, err := bulkDescriptors(ctx, emb, dcfg.MinFaceSize, faces, cache, n, widen, shrink, logf)
	if err != nil {
		stop()
		return err
	}
	if n > 0 {
		logf("bulk enrolments: %s", bulkDesc)
	}
	reg, err := benchRegistry(ctx, filepath.Join(dir, "registry.db"), inMemory, emb, bulk, faces, logf)
	stop()
	if err != nil {
		return err
	}
	defer reg.Close()
	built := time.Since(t).Round(time.Millisecond)
	logf("registry of %d bulk faces + 3 real enrolments + 1 removal built in %v (%s)", n, built, storeName)
	var dlibReg *exclusion.Registry
	dlibDesc := ""
	if dlibEmb != nil && rows["dlibfilter"] {
		dbulk, desc, err := bulkDescriptors(ctx, dlibEmb, dcfg.MinFaceSize, faces, cache, n, defaultWiden(embedder.Dlib), defaultShrink(embedder.Dlib), logf)
		if err != nil {
			return err
		}
		dlibDesc = desc
		if dlibReg, err = benchRegistry(ctx, filepath.Join(dir, "registry-dlib.db"), inMemory, dlibEmb, dbulk, faces, logf); err != nil {
			return err
		}
		defer dlibReg.Close()
		logf("dlib registry of %d bulk faces built (%s)", n, desc)
	}

	newFilter := func(e embed.Embedder, upright bool) (*exclusion.Filter, error) {
		cfg := exclusion.DefaultFilterConfig()
		cfg.UprightOnly = upright
		return exclusion.NewFilter(reg, e, cfg)
	}
	type row struct {
		key, name string
		run       func() (*filterRun, error)
	}
	var rs []row
	add := func(key, name string, run func() (*filterRun, error)) {
		if rows[key] {
			rs = append(rs, row{key, name, run})
		}
	}
	workers := dcfg.Workers
	add("filter", fmt.Sprintf("Filter.CheckImageBytes, default config, %d goroutines", workers), func() (*filterRun, error) {
		f, err := newFilter(emb, false)
		if err != nil {
			return nil, err
		}
		return perImage(ctx, files, workers, filterCheck(f))
	})
	add("upright", fmt.Sprintf("Filter.CheckImageBytes, UprightOnly, %d goroutines", workers), func() (*filterRun, error) {
		f, err := newFilter(emb, true)
		if err != nil {
			return nil, err
		}
		return perImage(ctx, files, workers, filterCheck(f))
	})
	add("batch", "Filter.CheckBatch, default config and BatchConfig", func() (*filterRun, error) {
		f, err := newFilter(emb, false)
		if err != nil {
			return nil, err
		}
		return batchRun(ctx, files, f)
	})
	add("imageutil", fmt.Sprintf("Filter via imageutil.Decode + Faces (embedder without FacesBytesWith), %d goroutines", workers), func() (*filterRun, error) {
		f, err := newFilter(plainEmbedder{emb}, false)
		if err != nil {
			return nil, err
		}
		return perImage(ctx, files, workers, filterCheck(f))
	})
	bare := func(e benchEmbedder) func() (*filterRun, error) {
		return func() (*filterRun, error) {
			return perImage(ctx, files, workers, func(ctx context.Context, data []byte) string {
				faces, err := e.FacesBytes(ctx, data)
				switch {
				case err != nil:
					return "error"
				case len(faces) > 0:
					return "faces"
				}
				return "no face"
			})
		}
	}
	add("facesbytes", fmt.Sprintf("bare FacesBytes of %s, %d goroutines", emb.Model().Name, workers), bare(emb))
	newDlibFilter := func() (*exclusion.Filter, error) {
		return exclusion.NewFilter(dlibReg, dlibEmb, exclusion.DefaultFilterConfig())
	}
	if dlibReg != nil {
		add("dlibfilter", fmt.Sprintf("dlib's Filter.CheckImageBytes, default config, dlib registry, %d goroutines", workers), func() (*filterRun, error) {
			f, err := newDlibFilter()
			if err != nil {
				return nil, err
			}
			return perImage(ctx, files, workers, filterCheck(f))
		})
	} else {
		newDlibFilter = nil
	}
	if dlibEmb != nil {
		add("dlibfacesbytes", fmt.Sprintf("bare FacesBytes of %s, %d goroutines", dlibEmb.Model().Name, workers), bare(dlibEmb))
	}
	if goFaceCompiled {
		goFaceRow := func(paths []string) func() (*filterRun, error) {
			return func() (*filterRun, error) {
				var r *filterRun
				peak, err := peakRSS(func() error {
					br, err := goFaceBaseline(ctx, paths, dcfg.ModelsDir, 1)
					if br != nil {
						r = &filterRun{elapsed: br.elapsed, verdicts: map[string]int{}}
						if br.errs > 0 {
							r.verdicts["errors"] = br.errs
						}
						for _, fs := range br.faces {
							if len(fs) > 0 {
								r.verdicts["faces"]++
							}
						}
					}
					return err
				})
				if r != nil {
					r.peakRSS = peak
				}
				return r, err
			}
		}
		if rows["goface"] {
			paths, copies, err := jpegCopies(files, goFaceJPEGDir)
			if err != nil {
				return fmt.Errorf("go-face's JPEG copies: %w", err)
			}
			add("goface", fmt.Sprintf("plain go-face, full size, 1 goroutine, JPEG q95 copies of the %d non-JPEG images (made before timing)", copies), goFaceRow(paths))
		}
		paths := make([]string, len(files))
		for i, f := range files {
			paths[i] = f.path
		}
		add("gofaceasis", "plain go-face as is, full size, 1 goroutine (fails on non-JPEG images)", goFaceRow(paths))
	}

	if byClass {
		return classTable(ctx, stdout, logf, emb, dcfg, files, n, rounds, rows, newFilter, newDlibFilter, cpuProfile, goFaceJPEGDir)
	}
	all := make([][]*filterRun, len(rs))
	for round := range rounds {
		for i, r := range rs {
			logf("enrolled %d, round %d/%d: %s", n, round+1, rounds, r.name)
			stop, err := startProfile(cpuProfile, fmt.Sprintf("%s-%d-%d", r.key, n, round+1))
			if err != nil {
				return err
			}
			cpu0 := cpuTime()
			fr, err := r.run()
			stop()
			if fr != nil {
				fr.cpu = cpuTime() - cpu0
			}
			if err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			fr.name = r.name
			all[i] = append(all[i], fr)
		}
	}

	fmt.Fprintf(stdout, "\nregistry (%s): %d bulk faces + 3 faces/bbt opt-outs + 1 image removal, through Submit and Approve into a %s in %v; %d rounds, interleaved; load %s\n", emb.Model().Name, n, storeName, built, rounds, loadAvg())
	if n > 0 {
		fmt.Fprintf(stdout, "bulk faces: %s\n", bulkDesc)
		if dlibDesc != "" {
			fmt.Fprintf(stdout, "dlib rows' registry: the same requests, described by dlib; bulk faces: %s\n", dlibDesc)
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "row\timages/s, median [range]\tvs FacesBytes\tvs go-face\timages per CPU-s\tvs FacesBytes (CPU)\tvs go-face (CPU)\tp50 ms\tp99 ms\tpeak RSS MB\tverdicts (median round)")
	var ref, gf, refCPU, gfCPU float64
	med := make([]*filterRun, len(rs))
	for i, r := range rs {
		med[i] = medianFilterRun(all[i])
		rate := float64(len(files)) / med[i].elapsed.Seconds()
		switch r.key {
		case "facesbytes":
			ref, refCPU = rate, perCPU(len(files), med[i].cpu)
		case "goface":
			gf, gfCPU = rate, perCPU(len(files), med[i].cpu)
		}
	}
	for i := range rs {
		m := med[i]
		rate := float64(len(files)) / m.elapsed.Seconds()
		lo, hi := rate, rate
		var peak int64
		for _, x := range all[i] {
			v := float64(len(files)) / x.elapsed.Seconds()
			lo, hi = min(lo, v), max(hi, v)
			peak = max(peak, x.peakRSS)
		}
		ratio := func(base float64) string {
			if base == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2fx", rate/base)
		}
		p50, p99 := "-", "-"
		if len(m.lat) > 0 {
			p50, p99 = fmt.Sprintf("%.1f", latQuantile(m.lat, 0.5)), fmt.Sprintf("%.1f", latQuantile(m.lat, 0.99))
		}
		cpuRate := perCPU(len(files), m.cpu)
		cpuRatio := func(base float64) string {
			if base == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2fx", cpuRate/base)
		}
		fmt.Fprintf(tw, "%s\t%.2f [%.2f-%.2f]\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%.0f\t%s\n", m.name, rate, lo, hi, ratio(ref), ratio(gf),
			cpuRate, cpuRatio(refCPU), cpuRatio(gfCPU), p50, p99, float64(peak)/(1<<20), verdictList(m.verdicts))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	keys, names := make([]string, len(rs)), make([]string, len(rs))
	for i, r := range rs {
		keys[i], names[i] = r.key, r.name
	}
	if err := pairedTable(stdout, keys, names, all); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nverdicts by kind of image (median round):")
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, m := range med {
		kinds := make([]string, 0, len(m.byKind))
		for k := range m.byKind {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", short(m.name), k, verdictList(m.byKind[k]))
		}
	}
	return tw.Flush()
}

// startProfile starts a CPU profile written to prefix-name.pprof (nothing
// when prefix is empty) and returns the function that stops it.
func startProfile(prefix, name string) (func(), error) {
	if prefix == "" {
		return func() {}, nil
	}
	f, err := os.Create(prefix + "-" + name + ".pprof")
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// filterCheck returns a per-image function that checks with f and names
// the verdict, with "turned" added when a face was found turned.
func filterCheck(f *exclusion.Filter) func(context.Context, []byte) string {
	return func(ctx context.Context, data []byte) string { return verdictName(f.CheckImageBytes(ctx, data)) }
}

func verdictName(d exclusion.Decision) string {
	v := d.Verdict.String()
	for _, fc := range d.Faces {
		if fc.Rotation != 0 {
			return v + " (turned)"
		}
	}
	return v
}

// perImage reads and checks every file with workers goroutines, timing
// each image (read included) and the whole run, and the peak RSS.
func perImage(ctx context.Context, files []mixFile, workers int, check func(context.Context, []byte) string) (*filterRun, error) {
	r := &filterRun{verdicts: map[string]int{}, lat: make([]time.Duration, len(files))}
	var mu sync.Mutex // guards r.verdicts
	names := make([]string, len(files))
	peak, err := peakRSS(func() error {
		next := make(chan int)
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					t := time.Now()
					data, err := os.ReadFile(files[i].path)
					v := "read error"
					if err == nil {
						v = check(ctx, data)
					}
					r.lat[i] = time.Since(t)
					names[i] = v
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
		return ctx.Err()
	})
	mu.Lock()
	for i, v := range names {
		r.count(files[i].kind, v)
	}
	mu.Unlock()
	r.peakRSS = peak
	return r, err
}

// batchRun feeds every file to CheckBatch, reading each as the batch takes
// it; latency is from the item's send to its result.
func batchRun(ctx context.Context, files []mixFile, f *exclusion.Filter) (*filterRun, error) {
	r := &filterRun{verdicts: map[string]int{}, lat: make([]time.Duration, len(files))}
	sent := make([]time.Time, len(files))
	peak, err := peakRSS(func() error {
		in := make(chan exclusion.Item)
		start := time.Now()
		go func() {
			defer close(in)
			for i, mf := range files {
				data, err := os.ReadFile(mf.path)
				if err != nil {
					data = []byte{} // an unreadable file is Unchecked
				}
				sent[i] = time.Now()
				select {
				case in <- exclusion.Item{Key: mf.path, Image: data}:
				case <-ctx.Done():
					return
				}
			}
		}()
		for res := range f.CheckBatch(ctx, in, exclusion.BatchConfig{}) {
			kind := "?"
			if res.Seq >= 0 && res.Seq < len(files) {
				r.lat[res.Seq] = time.Since(sent[res.Seq])
				kind = files[res.Seq].kind
			}
			r.count(kind, verdictName(res.Decision))
		}
		r.elapsed = time.Since(start)
		return ctx.Err()
	})
	r.peakRSS = peak
	return r, err
}

// peakRSS runs fn and returns the process's peak resident set size during
// it (Linux: VmHWM, reset before fn through /proc/self/clear_refs after
// returning freed heap to the OS; 0 where unavailable).
func peakRSS(fn func() error) (int64, error) {
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	err := fn()
	b, rerr := os.ReadFile("/proc/self/status")
	if rerr != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, err
}

// pairedTable prints, when there are several rounds, every row's ratio to
// go-face and to bare FacesBytes round by round (each round's rows run one
// after the other, so a machine whose speed drifts during the run moves
// both sides of a round's ratio alike): the median (of an even number of
// rounds, the lower middle one) and range over rounds, by wall clock and by
// CPU time.
func pairedTable(w io.Writer, keys, names []string, all [][]*filterRun) error {
	base := map[string]int{}
	for i, k := range keys {
		base[k] = i
	}
	if len(all) == 0 {
		return nil
	}
	rounds := len(all[0])
	gi, hasGF := base["goface"]
	fi, hasFB := base["facesbytes"]
	if rounds < 2 || (!hasGF && !hasFB) {
		return nil
	}
	paired := func(i, b int, cpu bool) string {
		var xs []float64
		for k := range rounds {
			x, y := all[i][k], all[b][k]
			num, den := y.elapsed, x.elapsed
			if cpu {
				num, den = y.cpu, x.cpu
			}
			if num <= 0 || den <= 0 {
				return "-"
			}
			xs = append(xs, num.Seconds()/den.Seconds())
		}
		sort.Float64s(xs)
		return fmt.Sprintf("%.2fx [%.2f-%.2f]", xs[(len(xs)-1)/2], xs[0], xs[len(xs)-1])
	}
	fmt.Fprintf(w, "\nround by round (each row against the same round's baseline; median [range] of %d rounds):\n", rounds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "row\tvs go-face\tvs go-face (CPU)\tvs FacesBytes\tvs FacesBytes (CPU)")
	for i, name := range names {
		cells := []string{"-", "-", "-", "-"}
		if hasGF && i != gi {
			cells[0], cells[1] = paired(i, gi, false), paired(i, gi, true)
		}
		if hasFB && i != fi {
			cells[2], cells[3] = paired(i, fi, false), paired(i, fi, true)
		}
		fmt.Fprintf(tw, "%s\t%s\n", name, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// perCPU returns images per CPU-second.
func perCPU(n int, cpu time.Duration) float64 {
	if cpu <= 0 {
		return 0
	}
	return float64(n) / cpu.Seconds()
}

func medianFilterRun(rs []*filterRun) *filterRun {
	sorted := slices.Clone(rs)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].elapsed > sorted[j].elapsed })
	return sorted[(len(sorted)-1)/2]
}

func latQuantile(ls []time.Duration, q float64) float64 {
	xs := make([]float64, len(ls))
	for i, l := range ls {
		xs[i] = ms(l)
	}
	sort.Float64s(xs)
	return quantile(xs, q)
}

func verdictList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func kindList(m map[string]int) string { return verdictList(m) }

// plainEmbedder hides FacesBytesWith: the Filter then decodes with
// imageutil and calls Faces.
type plainEmbedder struct{ e embed.Embedder }

func (p plainEmbedder) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	return p.e.Faces(ctx, img)
}

func (p plainEmbedder) Model() embed.Model { return p.e.Model() }

// bulkEmbedder enrols the bench's bulk faces: for a bulk photo (a
// bulkSide-wide image) it returns one face with the next facesim
// descriptor (a photo of several usable faces waits for a reviewer to
// pick one); any other image goes to the real embedder.
type bulkEmbedder struct {
	real embed.Embedder

	mu    sync.Mutex // guards descs
	descs [][]float32
}

const (
	bulkSide      = 401
	facesPerPhoto = 1
)

func (b *bulkEmbedder) Model() embed.Model { return b.real.Model() }

func (b *bulkEmbedder) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	if img.Bounds().Dx() != bulkSide {
		return b.real.Faces(ctx, img)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(facesPerPhoto, len(b.descs))
	out := make([]embed.Face, n)
	for i := range out {
		x, y := (i%6)*64, (i/6)*64
		out[i] = embed.Face{
			Box:        image.Rect(x, y, x+64, y+64),
			Descriptor: embed.Descriptor(b.descs[i]),
			Quality:    embed.Quality{Size: 100, Sharpness: 100, Score: 1, Pose: "frontal"},
		}
	}
	b.descs = b.descs[n:]
	return out, nil
}

// benchRegistry creates a registry of emb's model (a boltstore at path,
// or in memory) with the descriptors descs as bulk face opt-outs (one per
// generated photo), three real opt-outs (faces/bbt sheldon1, penny1,
// leonard1, described by emb) and one image removal of a JPEG-q70 copy of
// the first idols photo (so its original matches by perceptual hash only).
func benchRegistry(ctx context.Context, path string, inMemory bool, emb embed.Embedder, descs [][]float32, faces string, logf func(string, ...any)) (*exclusion.Registry, error) {
	bulk := &bulkEmbedder{real: emb, descs: descs}
	var st exclusion.Store = newMemStore()
	if !inMemory {
		bs, err := boltstore.Create(path, boltstore.Config{})
		if err != nil {
			return nil, err
		}
		st = bs
	}
	reg, err := exclusion.Create(ctx, st, bulk, exclusion.DefaultConfig())
	if err != nil {
		st.Close()
		return nil, err
	}
	submit := func(s *exclusion.Submission) error {
		req, err := reg.Submit(ctx, s, "bench")
		if err != nil {
			return err
		}
		_, err = reg.Approve(ctx, req.ID, "bench", "")
		return err
	}
	sub := func(kind exclusion.Kind) *exclusion.Submission {
		return &exclusion.Submission{Kind: kind, Country: "de", Reason: "Benchmark request, generated.",
			Name: "Bench Mark", Email: "bench@example.org", Phone: "+4915123456789"}
	}
	for _, p := range []string{"sheldon", "penny", "leonard"} {
		data, err := os.ReadFile(filepath.Join(faces, "bbt", p, p+"1.png"))
		if err != nil {
			return nil, err
		}
		s := sub(exclusion.FaceOptOut)
		s.Photos = []exclusion.Photo{{Data: data}}
		if err := submit(s); err != nil {
			return nil, fmt.Errorf("enrolling %s: %w", p, err)
		}
	}
	idols, _ := filepath.Glob(filepath.Join(faces, "idols", "*.jpg"))
	sort.Strings(idols)
	if len(idols) > 0 {
		img, err := decodeFile(idols[0])
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70}); err != nil {
			return nil, err
		}
		s := sub(exclusion.ImageRemoval)
		s.URLs = []string{"https://example.org/removed.jpg"}
		s.Photos = []exclusion.Photo{{Data: buf.Bytes()}}
		if err := submit(s); err != nil {
			return nil, fmt.Errorf("image removal: %w", err)
		}
	}
	photo := 0
	for len(bulk.descs) > 0 {
		s := sub(exclusion.FaceOptOut)
		for range exclusion.MaxPhotos {
			if len(bulk.descs) <= len(s.Photos)*facesPerPhoto {
				break
			}
			s.Photos = append(s.Photos, exclusion.Photo{Data: bulkPhoto(photo)})
			photo++
		}
		if err := submit(s); err != nil {
			return nil, fmt.Errorf("bulk enrolment: %w", err)
		}
		if photo%10000 < exclusion.MaxPhotos {
			logf("%d bulk faces left to enrol", len(bulk.descs))
		}
	}
	return reg, nil
}

// bulkPNG encodes the bulk photos, reusing its buffers.
var bulkPNG = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngPool{}}

// pngPool is a png.EncoderBufferPool of one buffer at a time.
type pngPool struct {
	mu  sync.Mutex // guards buf
	buf *png.EncoderBuffer
}

func (p *pngPool) Get() *png.EncoderBuffer {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.buf
	p.buf = nil
	return b
}

func (p *pngPool) Put(b *png.EncoderBuffer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = b
}

// bulkPhoto returns a distinct small PNG bulkSide pixels wide (8 high:
// the registry decodes and hashes every enrolment photo, so a small one
// keeps large registries quick to build).
func bulkPhoto(i int) []byte {
	m := image.NewGray(image.Rect(0, 0, bulkSide, 8))
	for j := range m.Pix {
		m.Pix[j] = 128
	}
	binary.BigEndian.PutUint64(m.Pix, uint64(i))
	var buf bytes.Buffer
	_ = bulkPNG.Encode(&buf, m)
	return buf.Bytes()
}

func decodeFile(path string) (image.Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := imageutil.DecodeBytes(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m.RGB, nil
}

// crawlMix builds (or reuses) the crawl mix in dir: the faces/idols
// photos, the faces/bbt group photos and crops, generated images without
// faces (gradients, text, noise), thumbnails, 12-24 MP upscaled photos and
// PNG copies.
func crawlMix(faces, dir string, logf func(string, ...any)) ([]mixFile, error) {
	var out []mixFile
	idols, _ := filepath.Glob(filepath.Join(faces, "idols", "*.jpg"))
	groups, _ := filepath.Glob(filepath.Join(faces, "bbt", "bbt*.jpg"))
	crops, _ := filepath.Glob(filepath.Join(faces, "bbt", "*", "*.png"))
	if len(idols) == 0 || len(groups) == 0 || len(crops) == 0 {
		return nil, fmt.Errorf("no faces/idols, faces/bbt photos under %s", faces)
	}
	sort.Strings(idols)
	for _, f := range idols {
		out = append(out, mixFile{f, "photo"})
	}
	for _, f := range groups {
		out = append(out, mixFile{f, "group"})
	}
	for _, f := range crops {
		out = append(out, mixFile{f, "crop"})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	gen := func(name, kind string, make func() ([]byte, error)) error {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			logf("making %s", p)
			data, err := make()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				return err
			}
		}
		out = append(out, mixFile{p, kind})
		return nil
	}
	rng := rand.New(rand.NewPCG(7, 13))
	for i := range 6 {
		if err := gen(fmt.Sprintf("gradient%d.png", i), "no face", func() ([]byte, error) { return encPNG(gradient(1024+i*128, 768, i)) }); err != nil {
			return nil, err
		}
	}
	for i := range 4 {
		if err := gen(fmt.Sprintf("text%d.png", i), "no face", func() ([]byte, error) { return encPNG(textImage(900, 600, i)) }); err != nil {
			return nil, err
		}
	}
	for i := range 6 {
		name, enc := fmt.Sprintf("noise%d.jpg", i), encJPEG
		if i%2 == 1 {
			name, enc = fmt.Sprintf("noise%d.png", i), encPNG
		}
		seed := rng.Uint64()
		if err := gen(name, "no face", func() ([]byte, error) { return enc(noise(800, 600, seed)) }); err != nil {
			return nil, err
		}
	}
	for i, f := range idols {
		if i%2 == 1 {
			continue
		}
		if err := gen(fmt.Sprintf("thumb%02d.jpg", i), "thumbnail", func() ([]byte, error) {
			img, err := decodeFile(f)
			if err != nil {
				return nil, err
			}
			return encJPEG(imageutil.Fit(img, 160))
		}); err != nil {
			return nil, err
		}
	}
	for i, side := range []int{4300, 4900, 5600} { // about 12, 16 and 21 MP at 3:2
		f := idols[(i*7+3)%len(idols)]
		if err := gen(fmt.Sprintf("large%d.jpg", i), "large", func() ([]byte, error) {
			img, err := decodeFile(f)
			if err != nil {
				return nil, err
			}
			b := img.Bounds()
			w, h := side, side*2/3
			if b.Dy() > b.Dx() {
				w, h = h, w
			}
			return encJPEG(imageutil.Resize(img, w, h))
		}); err != nil {
			return nil, err
		}
	}
	for i := range 5 {
		f := idols[(i*5+1)%len(idols)]
		if err := gen(fmt.Sprintf("copy%d.png", i), "png", func() ([]byte, error) {
			img, err := decodeFile(f)
			if err != nil {
				return nil, err
			}
			return encPNG(img)
		}); err != nil {
			return nil, err
		}
	}
	// WebP copies, made by cwebp (Debian's webp; Go has no WebP encoder)
	// when it is installed: lossy q80 copies of idols photos, as crawled
	// WebP mostly is, and lossless copies of faces/bbt crops.
	cwebp, err := exec.LookPath("cwebp")
	if err != nil {
		logf("no cwebp on PATH: the mix has no WebP copies")
		return out, nil
	}
	type webpCopy struct {
		src  string
		args []string
	}
	var webpSrc []webpCopy
	for i := range 5 {
		webpSrc = append(webpSrc, webpCopy{idols[(i*5+2)%len(idols)], []string{"-q", "80"}})
	}
	for i := range 3 {
		webpSrc = append(webpSrc, webpCopy{crops[(i*7)%len(crops)], []string{"-lossless"}})
	}
	for i, w := range webpSrc {
		if err := gen(fmt.Sprintf("webp%d.webp", i), "webp", func() ([]byte, error) {
			tmp := filepath.Join(dir, fmt.Sprintf(".webp%d.tmp", i))
			defer os.Remove(tmp)
			args := append(append([]string{"-quiet"}, w.args...), w.src, "-o", tmp)
			if out, err := exec.Command(cwebp, args...).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("cwebp %s: %w: %s", w.src, err, out)
			}
			return os.ReadFile(tmp)
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// jpegCopies returns the paths go-face reads for files: JPEG files as they
// are and, for every other format (which go-face cannot decode), a JPEG q95
// copy made in dir (reused when present) before any timing.
func jpegCopies(files []mixFile, dir string) ([]string, int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, err
	}
	out := make([]string, len(files))
	copies := 0
	for i, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			return nil, 0, err
		}
		if isJPEGData(data) {
			out[i] = f.path
			continue
		}
		copies++
		sum := sha256.Sum256(data)
		p := filepath.Join(dir, hex.EncodeToString(sum[:8])+".jpg")
		out[i] = p
		if _, err := os.Stat(p); err == nil {
			continue
		}
		m, err := imageutil.DecodeBytes(data)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", f.path, err)
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, m.RGB, &jpeg.Options{Quality: 95}); err != nil {
			return nil, 0, err
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return nil, 0, err
		}
	}
	return out, copies, nil
}

// isJPEGData reports whether data starts with a JPEG's SOI marker.
func isJPEGData(data []byte) bool {
	return len(data) >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff
}

// rotatedMix builds EXIF-less copies of the faces/bbt group photos and
// crops and the faces/idols photos turned by 90, 180 and 270 degrees
// (JPEG q90), as sideways uploads are.
func rotatedMix(faces, dir string, logf func(string, ...any)) ([]mixFile, error) {
	idols, _ := filepath.Glob(filepath.Join(faces, "idols", "*.jpg"))
	groups, _ := filepath.Glob(filepath.Join(faces, "bbt", "bbt*.jpg"))
	crops, _ := filepath.Glob(filepath.Join(faces, "bbt", "*", "*1.png"))
	src := append(append(append([]string{}, groups...), crops...), idols...)
	if len(idols) == 0 || len(groups) == 0 {
		return nil, fmt.Errorf("no faces/idols, faces/bbt photos under %s", faces)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []mixFile
	for _, f := range src {
		for _, deg := range []int{90, 180, 270} {
			p := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.jpg", filepath.Base(filepath.Dir(f)), strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)), deg))
			if _, err := os.Stat(p); err != nil {
				logf("making %s", p)
				img, err := decodeFile(f)
				if err != nil {
					return nil, err
				}
				data, err := encJPEG(imageutil.Orient(img, map[int]int{90: 6, 180: 3, 270: 8}[deg]))
				if err != nil {
					return nil, err
				}
				if err := os.WriteFile(p, data, 0o644); err != nil {
					return nil, err
				}
			}
			kind := "idols"
			if strings.Contains(f, string(filepath.Separator)+"bbt"+string(filepath.Separator)) {
				kind = "bbt"
			}
			out = append(out, mixFile{p, fmt.Sprintf("%s %d", kind, deg)})
		}
	}
	return out, nil
}

func encPNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	err := png.Encode(&buf, img)
	return buf.Bytes(), err
}

func encJPEG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	return buf.Bytes(), err
}

func gradient(w, h, k int) image.Image {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y + k*40) % 256), 255})
		}
	}
	return m
}

func textImage(w, h, k int) image.Image {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(m, m.Rect, image.NewUniform(color.NRGBA{250, 248, 240, 255}), image.Point{}, draw.Src)
	d := font.Drawer{Dst: m, Src: image.NewUniform(color.NRGBA{20, 20, 30, 255}), Face: basicfont.Face7x13}
	words := strings.Fields("the quick brown fox jumps over the lazy dog while a crawler indexes pages of text and images without faces")
	for line := 0; line*16+20 < h; line++ {
		d.Dot = fixed.P(10, 20+line*16)
		var s []string
		for j := range 14 {
			s = append(s, words[(line*5+j*3+k)%len(words)])
		}
		d.DrawString(strings.Join(s, " "))
	}
	return m
}

func noise(w, h int, seed uint64) image.Image {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(rng.IntN(256))
	}
	for i := 3; i < len(m.Pix); i += 4 {
		m.Pix[i] = 255
	}
	return m
}

// classTable measures, for every kind of image of the mix in turn, the
// CPU time per image of plain go-face (on JPEG copies of the non-JPEG
// files; its recognizer's loading, timed on an empty list in every round,
// is taken off), bare FacesBytes and the Filter, interleaved over rounds
// and reported by the median round, and prints each row's cost against
// go-face's: where the per-CPU advantage is smallest.
//
// newDlibFilter (nil without the dlib rows) gives the row dlibfilter.
func classTable(ctx context.Context, stdout io.Writer, logf func(string, ...any), emb benchEmbedder, dcfg embed.DlibConfig,
	files []mixFile, n, rounds int, rows map[string]bool,
	newFilter func(embed.Embedder, bool) (*exclusion.Filter, error), newDlibFilter func() (*exclusion.Filter, error), cpuProfile, goFaceJPEGDir string) error {
	var kinds []string
	byKind := map[string][]int{}
	for i, f := range files {
		if byKind[f.kind] == nil {
			kinds = append(kinds, f.kind)
		}
		byKind[f.kind] = append(byKind[f.kind], i)
	}
	var gfPaths []string
	if goFaceCompiled && rows["goface"] {
		var err error
		if gfPaths, _, err = jpegCopies(files, goFaceJPEGDir); err != nil {
			return fmt.Errorf("go-face's JPEG copies: %w", err)
		}
	}
	type crow struct {
		key, name string
		run       func(idx []int) (time.Duration, int, error) // CPU time of the images idx, faces found (-1: not counted)
	}
	var crs []crow
	workers := dcfg.Workers
	subset := func(idx []int) []mixFile {
		out := make([]mixFile, len(idx))
		for j, i := range idx {
			out[j] = files[i]
		}
		return out
	}
	timed := func(fn func() error) (time.Duration, error) {
		c0 := cpuTime()
		err := fn()
		return cpuTime() - c0, err
	}
	if gfPaths != nil {
		crs = append(crs, crow{"goface", "go-face, JPEG copies, 1 goroutine", func(idx []int) (time.Duration, int, error) {
			paths := make([]string, len(idx))
			for j, i := range idx {
				paths[j] = gfPaths[i]
			}
			nf := 0
			d, err := timed(func() error {
				br, err := goFaceBaseline(ctx, paths, dcfg.ModelsDir, 1)
				if br != nil {
					for _, fs := range br.faces {
						nf += len(fs)
					}
				}
				return err
			})
			return d, nf, err
		}})
	}
	if rows["facesbytes"] {
		crs = append(crs, crow{"facesbytes", fmt.Sprintf("bare FacesBytes, %d goroutines", workers), func(idx []int) (time.Duration, int, error) {
			var mu sync.Mutex // guards nf
			nf := 0
			d, err := timed(func() error {
				_, err := perImage(ctx, subset(idx), workers, func(ctx context.Context, data []byte) string {
					faces, err := emb.FacesBytes(ctx, data)
					if err != nil {
						return "error"
					}
					mu.Lock()
					nf += len(faces)
					mu.Unlock()
					return "ok"
				})
				return err
			})
			return d, nf, err
		}})
	}
	for _, k := range []string{"filter", "upright", "dlibfilter"} {
		if !rows[k] || (k == "dlibfilter" && newDlibFilter == nil) {
			continue
		}
		var f *exclusion.Filter
		var err error
		name := fmt.Sprintf("Filter, default config, %d goroutines", workers)
		switch k {
		case "upright":
			name = fmt.Sprintf("Filter, UprightOnly, %d goroutines", workers)
			f, err = newFilter(emb, true)
		case "dlibfilter":
			name = fmt.Sprintf("dlib's Filter, default config, dlib registry, %d goroutines", workers)
			f, err = newDlibFilter()
		default:
			f, err = newFilter(emb, false)
		}
		if err != nil {
			return err
		}
		crs = append(crs, crow{k, name, func(idx []int) (time.Duration, int, error) {
			d, err := timed(func() error { _, err := perImage(ctx, subset(idx), workers, filterCheck(f)); return err })
			return d, -1, err
		}})
	}
	// cpu[row][kind] holds one CPU time per round; fixed[row] go-face's
	// recognizer loading per round.
	cpu := make([]map[string][]time.Duration, len(crs))
	for i := range cpu {
		cpu[i] = map[string][]time.Duration{}
	}
	found := make([]map[string]int, len(crs)) // row -> kind -> faces found (last round)
	for i := range found {
		found[i] = map[string]int{}
	}
	var fixed []time.Duration
	for round := range rounds {
		for i, r := range crs {
			logf("by class, enrolled %d, round %d/%d: %s", n, round+1, rounds, r.name)
			if r.key == "goface" {
				d, _, err := r.run(nil)
				if err != nil {
					return err
				}
				fixed = append(fixed, d)
			}
			for _, k := range kinds {
				stop, err := startProfile(cpuProfile, fmt.Sprintf("class-%s-%s-%d", r.key, strings.ReplaceAll(k, " ", ""), round+1))
				if err != nil {
					return err
				}
				d, nf, err := r.run(byKind[k])
				stop()
				if err != nil {
					return fmt.Errorf("%s, %s: %w", r.name, k, err)
				}
				cpu[i][k] = append(cpu[i][k], d)
				if nf >= 0 {
					found[i][k] = nf
				}
			}
		}
	}
	medDur := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		if len(s) == 0 {
			return 0
		}
		return s[(len(s)-1)/2]
	}
	fix := medDur(fixed)
	perImg := func(i int, k string) float64 { // CPU ms per image
		d := medDur(cpu[i][k])
		if crs[i].key == "goface" {
			d -= fix
		}
		return ms(d) / float64(len(byKind[k]))
	}
	gi := slices.IndexFunc(crs, func(r crow) bool { return r.key == "goface" })
	note := ""
	if gi >= 0 {
		note = fmt.Sprintf("; go-face's recognizer loading, %.0f ms, taken off", ms(fix))
	}
	fmt.Fprintf(stdout, "\nCPU ms per image by kind of image (user+system time of the process, median of %d interleaved rounds%s); registry of %d bulk faces; load %s\n",
		rounds, note, n, loadAvg())
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	head := "kind\timages"
	for _, r := range crs {
		head += "\t" + r.key + " ms"
	}
	for _, r := range crs {
		if gi >= 0 && r.key != "goface" {
			head += "\t" + r.key + " vs go-face"
		}
	}
	var counted []int // rows that count faces
	for i, r := range crs {
		if r.key == "goface" || r.key == "facesbytes" {
			counted = append(counted, i)
			head += "\t" + r.key + " faces"
		}
	}
	fmt.Fprintln(tw, head)
	totals := make([]float64, len(crs))
	line := func(label string, count int, vals []float64, faces []int) {
		s := fmt.Sprintf("%s\t%d", label, count)
		for _, v := range vals {
			s += fmt.Sprintf("\t%.1f", v)
		}
		for i, r := range crs {
			if gi >= 0 && r.key != "goface" {
				s += fmt.Sprintf("\t%.2fx", vals[gi]/vals[i])
			}
		}
		for _, i := range counted {
			s += fmt.Sprintf("\t%d", faces[i])
		}
		fmt.Fprintln(tw, s)
	}
	allFaces := make([]int, len(crs))
	for _, k := range kinds {
		vals := make([]float64, len(crs))
		faces := make([]int, len(crs))
		for i := range crs {
			vals[i] = perImg(i, k)
			totals[i] += vals[i] * float64(len(byKind[k]))
			faces[i] = found[i][k]
			allFaces[i] += faces[i]
		}
		line(k, len(byKind[k]), vals, faces)
	}
	for i := range totals {
		totals[i] /= float64(len(files))
	}
	line("whole mix", len(files), totals, allFaces)
	return tw.Flush()
}
