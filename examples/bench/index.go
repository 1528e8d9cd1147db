package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/hnsw"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/examples/internal/progenv"
	"github.com/faceoptout/faceoptout/index"
)

// benchIndex compares, on face-like data, the exact index, our HNSW,
// coder/hnsw v0.6.1 and hnswlib (through scripts/hnswlib_bench.py) in one
// run: build rate, memory per vector, query latency, queries/s on two
// cores, recall@1 and radius recall at two radii.
//
// The data is facesim's: fitted to idols.json's dlib descriptors
// (-data-model dlib, radii 0.45 and 0.6), or at run time to the ONNX
// embedder's descriptors of the faces/eastasian photos, samples scaled to
// unit length (-data-model onnx, 512-D, radii 0.81 and the model's
// threshold 1.08; the photos' descriptors are cached in -cache, bench
// filter's cache, and nothing else of them is kept).
//
//	bench index -n 100000 -queries 1000
//	bench index -data-model onnx -n 200000 -systems switch -ef 32,64 -slack 0.1,0.2
func benchIndex(ctx context.Context, env progenv.Getenv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench index", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		n        = fs.Int("n", 100_000, "enrolled faces")
		perID    = fs.Int("per-identity", 4, "samples per enrolled person")
		nq       = fs.Int("queries", 1000, "queries: half new samples of enrolled people, half people never enrolled")
		exactQ   = fs.Int("exact-queries", 1000, "queries timed for the exact index (at most -queries)")
		widen    = fs.Float64("widen", 0, "between-person covariance factor (0: 7 for -data-model dlib, 1 for onnx)")
		shrink   = fs.Float64("shrink", -1, "facesim shrinkage of the covariances towards isotropic ones, in [0, 1] (negative: 0 for dlib, "+fmt.Sprint(defaultShrink(embedder.ONNX))+" for onnx)")
		dataKind = fs.String("data-model", embedder.Dlib, "face model the data is fitted to: dlib (idols.json's dlib descriptors, 128-D) or onnx (the ONNX embedder's descriptors of faces/eastasian, 512-D, computed once and cached in -cache; the embedder flags --models, --onnx-model, --min-face... apply)")
		facesDir = fs.String("faces", "", "-data-model onnx: shared faces directory (default $"+progenv.FacesEnv+", else ../shared/faces)")
		cache    = fs.String("cache", filepath.Join(os.TempDir(), "faceoptout-crawlmix"), "-data-model onnx: directory of the cached descriptors of faces/eastasian (bench filter's cache)")
		seed     = fs.Uint64("seed", 1, "sampling seed")
		idols    = fs.String("idols", "", "idols.json to fit the face model on (default $"+progenv.FacesEnv+"/idols/idols.json, else ../shared/faces/idols/idols.json)")
		radii    = fs.String("radii", "", "radii for range search, comma separated (default: "+defaultIndexRadii(embedder.Dlib)+" for -data-model dlib, "+defaultIndexRadii(embedder.ONNX)+" for onnx, the last the model's threshold)")
		systems  = fs.String("systems", "exact,hnsw,coder,hnswlib", "what to measure (also: switch, index.Index in ModeAuto against ModeExact: decisions, latency and the background build)")
		upTo     = fs.Int("exact-up-to", 1000, "switch: the ModeAuto Index's ExactUpTo")
		m        = fs.String("m", "24", "our HNSW: M values (comma separated)")
		efc      = fs.Int("efc", 200, "efConstruction for every HNSW")
		efs      = fs.String("ef", "16,32,64", "our HNSW: EfSearch values for Within (beyond-radius exploration)")
		slack    = fs.String("slack", "0.2", "our HNSW: RangeSlack values (comma separated)")
		coderMax = fs.Int("coder-max", 100_000, "coder/hnsw: above this size, measure it on the first coder-max enrolled faces only (its own ground truth), and say so in its row")
		coderEf  = fs.Int("coder-ef", 100, "coder/hnsw EfSearch")
		libM     = fs.String("hnswlib-m", "16,32", "hnswlib M values")
		libEf    = fs.String("hnswlib-ef", "64,128,400", "hnswlib ef values")
		python   = fs.String("python", "/usr/bin/python3", "python with hnswlib and numpy")
		script   = fs.String("script", filepath.Join("scripts", "hnswlib_bench.py"), "hnswlib driver (relative to the working directory: run from the repository's root)")
		dataDir  = fs.String("data", "", "directory for the data file shared with hnswlib (default: temporary)")
		save     = fs.String("save", "", "also write our HNSW to this file and time Load")
		load     = fs.String("load", "", "load our HNSW from this file (written by -save on the same data) instead of building it")
		workers  = fs.Int("build-workers", 0, "our HNSW: goroutines for AddBatch (0: GOMAXPROCS)")
		libBuild = fs.Bool("hnswlib-build-only", false, "hnswlib: build and save into -hnswlib-cache, measure nothing")
		loadOnly = fs.Int("load-only", 0, "only time this many Loads of the -load file (no data, no queries) and exit")
		coderDir = fs.String("coder-cache", "", "coder/hnsw: directory where its built graph is saved (Export) and, when present, loaded (Import) instead of rebuilt (build rate kept beside it)")
		libCache = fs.String("hnswlib-cache", "", "hnswlib: directory where built indexes are saved and, when present, loaded instead of rebuilt (build rate kept beside them)")
	)
	ef := embedder.Register(fs, env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dataKind != embedder.Dlib && *dataKind != embedder.ONNX {
		return fmt.Errorf("-data-model %q: want %s or %s", *dataKind, embedder.Dlib, embedder.ONNX)
	}
	if ef.KindSet && ef.Kind != *dataKind {
		return fmt.Errorf("--embedder %s with -data-model %s: the data's model is -data-model's", ef.Kind, *dataKind)
	}
	faces := progenv.FacesDir(*facesDir, env)
	if *idols == "" {
		*idols = filepath.Join(faces, "idols", "idols.json")
	}
	if *radii == "" {
		*radii = defaultIndexRadii(*dataKind)
	}
	if *widen == 0 {
		*widen = defaultWiden(*dataKind)
	}
	if *shrink < 0 {
		*shrink = defaultShrink(*dataKind)
	}
	rs, err := parseFloats(*radii)
	if err != nil {
		return err
	}
	ms, err := parseInts(*m)
	if err != nil {
		return err
	}
	efList, err := parseInts(*efs)
	if err != nil {
		return err
	}
	slacks, err := parseFloats(*slack)
	if err != nil {
		return err
	}
	if *loadOnly > 0 {
		dim := embed.DlibDim
		if *dataKind == embedder.ONNX {
			dim = onnx.DefaultConfig().Model.Dim
		}
		return benchLoad(stdout, *load, *loadOnly, dim)
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*systems, ",") {
		want[strings.TrimSpace(s)] = true
	}

	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
	}
	model, unit, dataDesc, err := fitIndexModel(ctx, indexData{kind: *dataKind, idols: *idols, faces: faces, cache: *cache, embedder: ef, widen: *widen, shrink: *shrink}, logf)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(*seed, 2026))
	vs, labels, centres := model.Sample(rng, (*n+*perID-1) / *perID, *perID)
	vs, labels = vs[:*n], labels[:*n]
	centres = centres[:(*n+*perID-1) / *perID]
	qs := make([][]float32, *nq)
	for i := range qs {
		if i%2 == 0 {
			qs[i] = model.SampleOf(rng, centres[rng.IntN(len(centres))])
		} else {
			qs[i] = model.SampleOf(rng, model.Identity(rng))
		}
	}
	if unit {
		for _, v := range vs {
			normalise(v)
		}
		for _, q := range qs {
			normalise(q)
		}
	}
	dataLine := fmt.Sprintf("data: %d enrolled (%d per person), %d-D, %d queries (half new samples of enrolled people, half strangers); %s; %s",
		*n, *perID, len(vs[0]), *nq, dataDesc, pairStats(vs, labels, modelThreshold(*dataKind)))
	logf("%s", dataLine)
	fmt.Fprintf(stdout, "%s; load %s\n", dataLine, loadAvg())

	// Ground truth with the exact index.
	truth, err := groundTruth(vs, qs, rs)
	if err != nil {
		return err
	}
	for ri, r := range rs {
		tot := 0
		for _, g := range truth.within[ri] {
			tot += len(g)
		}
		logf("ground truth: r=%.2f: %.1f ids in radius per query", r, float64(tot)/float64(len(qs)))
	}

	tw := &table{radii: rs, n: *n}
	if want["exact"] || want["hnsw"] || want["coder"] {
		tw.header(stdout)
	}

	if want["exact"] {
		if err := benchExact(ctx, tw, stdout, vs, qs[:min(*exactQ, len(qs))], truth, logf); err != nil {
			return err
		}
	}
	if want["hnsw"] {
		for _, mm := range ms {
			if err := benchOurs(ctx, tw, stdout, vs, qs, truth, mm, *efc, efList, slacks, *workers, *save, *load, logf); err != nil {
				return err
			}
		}
	}
	if want["switch"] {
		p := switchParams{upTo: *upTo, m: ms[0], efc: *efc, workers: *workers, efs: efList, slacks: slacks}
		if err := benchSwitch(ctx, stdout, vs, labels, qs, truth, rs, p, logf); err != nil {
			return err
		}
	}
	if want["hnswlib"] {
		if err := benchHnswlib(ctx, stdout, stderr, vs, qs, truth, rs, *dataDir, *python, *script, *libM, *libEf, *efc, *libCache, *libBuild, logf); err != nil {
			return err
		}
	}
	if want["coder"] {
		// coder/hnsw builds at ~500 vectors/s on one core: above coder-max
		// it is measured on a prefix of the data, against that prefix's
		// own ground truth, and its rows say so.
		cvs, ctruth := vs, truth
		if len(vs) > *coderMax {
			cvs = vs[:*coderMax]
			logf("coder/hnsw: measured on the first %d enrolled faces only", len(cvs))
			if ctruth, err = groundTruth(cvs, qs, rs); err != nil {
				return err
			}
		}
		if err := benchCoder(ctx, tw, stdout, cvs, qs, ctruth, *coderEf, *coderDir, logf); err != nil {
			return err
		}
	}
	return nil
}

func parseFloats(s string) ([]float32, error) {
	var out []float32
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
		if err != nil {
			return nil, err
		}
		out = append(out, float32(v))
	}
	return out, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

type truthSet struct {
	nn     []index.ID
	within [][][]index.ID // [radius][query] ids, sorted
}

func groundTruth(vs, qs [][]float32, rs []float32) (*truthSet, error) {
	fc := index.DefaultFlatConfig()
	fc.Dim = len(vs[0])
	f, err := index.NewFlat(fc)
	if err != nil {
		return nil, err
	}
	f.Reserve(len(vs))
	for i, v := range vs {
		if err := f.Add(index.ID(i), v); err != nil {
			return nil, err
		}
	}
	t := &truthSet{}
	for _, r := range rs {
		b, err := f.WithinBatch(qs, r)
		if err != nil {
			return nil, err
		}
		var per [][]index.ID
		for _, res := range b {
			ids := make([]index.ID, len(res))
			for i, x := range res {
				ids[i] = x.ID
			}
			slices.Sort(ids)
			per = append(per, ids)
		}
		t.within = append(t.within, per)
	}
	for _, q := range qs {
		res, err := f.Search(q, 1, nil)
		if err != nil {
			return nil, err
		}
		t.nn = append(t.nn, res[0].ID)
	}
	return t, nil
}

// row is one line of the result table.
type row struct {
	n              int // 0: the table's N
	system, params string
	buildRate      float64 // vectors/s; 0: not applicable
	bytesPerVec    float64
	recall1        float64
	rr             []float64 // radius recall per radius
	p50, p99       []time.Duration
	qps2           float64 // queries/s on two goroutines at the largest radius
	note           string
}

type table struct {
	radii []float32
	n     int
}

func (t *table) header(w io.Writer) {
	fmt.Fprintf(w, "| N | index | parameters | build (vectors/s) | bytes/vector | recall@1 |")
	for _, r := range t.radii {
		fmt.Fprintf(w, " radius recall r=%.2f | p50 / p99 r=%.2f |", r, r)
	}
	fmt.Fprintf(w, " queries/s, 2 cores (r=%.2f) | notes |\n|", t.radii[len(t.radii)-1])
	for range 8 + 2*len(t.radii) {
		fmt.Fprint(w, " --- |")
	}
	fmt.Fprintln(w)
}

func (t *table) print(w io.Writer, r row) {
	build := "-"
	if r.buildRate > 0 {
		build = fmt.Sprintf("%.0f", r.buildRate)
	}
	n := t.n
	if r.n > 0 {
		n = r.n
	}
	fmt.Fprintf(w, "| %d | %s | %s | %s | %.0f | %.4f |", n, r.system, r.params, build, r.bytesPerVec, r.recall1)
	for i := range t.radii {
		fmt.Fprintf(w, " %.4f | %s / %s |", r.rr[i], fmtDur(r.p50[i]), fmtDur(r.p99[i]))
	}
	fmt.Fprintf(w, " %.0f | %s |\n", r.qps2, r.note)
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	}
}

// rangeFunc answers one range query.
type rangeFunc func(q []float32, r float32, dst []index.Result) ([]index.Result, error)

// measure times fn over qs at every radius (one goroutine), checks radius
// recall against the truth, and measures queries/s on two goroutines at
// the largest radius.
func measure(ctx context.Context, fn rangeFunc, nearest func(q []float32) (index.ID, error), qs [][]float32, truth *truthSet, rs []float32, r *row) error {
	lat := make([]time.Duration, len(qs))
	var dst []index.Result
	for ri, rad := range rs {
		ok := 0
		for i, q := range qs {
			if err := ctx.Err(); err != nil {
				return err
			}
			t0 := time.Now()
			var err error
			dst, err = fn(q, rad, dst)
			lat[i] = time.Since(t0)
			if err != nil {
				return err
			}
			if covers(dst, truth.within[ri][i]) {
				ok++
			}
		}
		slices.Sort(lat)
		r.rr = append(r.rr, float64(ok)/float64(len(qs)))
		r.p50 = append(r.p50, lat[len(lat)/2])
		r.p99 = append(r.p99, lat[len(lat)*99/100])
	}
	hit := 0
	for i, q := range qs {
		id, err := nearest(q)
		if err != nil {
			return err
		}
		if id == truth.nn[i] {
			hit++
		}
	}
	r.recall1 = float64(hit) / float64(len(qs))
	rad := rs[len(rs)-1]
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst []index.Result
			for i := w; i < len(qs); i += 2 {
				var err error
				if dst, err = fn(qs[i], rad, dst); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	r.qps2 = float64(len(qs)) / time.Since(t0).Seconds()
	return errors.Join(errs...)
}

// covers reports whether got holds every id of want.
func covers(got []index.Result, want []index.ID) bool {
	if len(want) == 0 {
		return true
	}
	ids := make([]index.ID, len(got))
	for i, x := range got {
		ids[i] = x.ID
	}
	slices.Sort(ids)
	for _, id := range want {
		if _, ok := slices.BinarySearch(ids, id); !ok {
			return false
		}
	}
	return true
}

func heapNow() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func benchExact(ctx context.Context, tw *table, w io.Writer, vs, qs [][]float32, truth *truthSet, logf func(string, ...any)) error {
	h0 := heapNow()
	c := index.DefaultFlatConfig()
	c.Dim, c.Workers = len(vs[0]), 1 // single-query latency on one core
	f, err := index.NewFlat(c)
	if err != nil {
		return err
	}
	t0 := time.Now()
	f.Reserve(len(vs))
	for i, v := range vs {
		if err := f.Add(index.ID(i), v); err != nil {
			return err
		}
	}
	rate := float64(len(vs)) / time.Since(t0).Seconds()
	bpv := float64(heapNow()-h0) / float64(len(vs))
	r := row{system: "exact (Flat)", params: "1 core per query", buildRate: rate, bytesPerVec: bpv}
	nearest := func(q []float32) (index.ID, error) {
		res, err := f.Search(q, 1, nil)
		if err != nil || len(res) == 0 {
			return 0, err
		}
		return res[0].ID, nil
	}
	logf("exact: timing %d queries", len(qs))
	if err := measure(ctx, f.Within, nearest, qs, truth, tw.radii, &r); err != nil {
		return err
	}
	tw.print(w, r)
	// Batched: WithinBatch over batches of 64 queries, one core, then two.
	for _, workers := range []int{1, 2} {
		c.Workers, c.ParallelMin = workers, 1
		fb, err := index.NewFlat(c)
		if err != nil {
			return err
		}
		fb.Reserve(len(vs))
		for i, v := range vs {
			if err := fb.Add(index.ID(i), v); err != nil {
				return err
			}
		}
		br := row{system: "exact (Flat), WithinBatch", params: fmt.Sprintf("batches of 64, %d core(s)", workers), bytesPerVec: bpv, recall1: 1}
		for ri, rad := range tw.radii {
			ok := 0
			t0 := time.Now()
			for lo := 0; lo < len(qs); lo += 64 {
				if err := ctx.Err(); err != nil {
					return err
				}
				b, err := fb.WithinBatch(qs[lo:min(lo+64, len(qs))], rad)
				if err != nil {
					return err
				}
				for i, res := range b {
					if covers(res, truth.within[ri][lo+i]) {
						ok++
					}
				}
			}
			per := time.Since(t0) / time.Duration(len(qs))
			br.rr = append(br.rr, float64(ok)/float64(len(qs)))
			br.p50 = append(br.p50, per)
			br.p99 = append(br.p99, per)
			if ri == len(tw.radii)-1 {
				br.qps2 = float64(time.Second) / float64(per)
			}
		}
		br.note = "latency = batch time / queries (mean); queries/s with " + strconv.Itoa(workers) + " core(s)"
		tw.print(w, br)
	}
	return nil
}

func benchOurs(ctx context.Context, tw *table, w io.Writer, vs, qs [][]float32, truth *truthSet, m, efc int, efs []int, slacks []float32, workers int, save, load string, logf func(string, ...any)) error {
	h0 := heapNow()
	c := index.DefaultHNSWConfig()
	c.Dim, c.M, c.EfConstruction, c.RangeSlack, c.Workers = len(vs[0]), m, efc, slacks[0], workers
	var h *index.HNSW
	var rate float64
	if load != "" {
		t1 := time.Now()
		var err error
		if h, err = index.LoadHNSW(load, c); err != nil {
			return err
		}
		if h.Len() != len(vs) {
			return fmt.Errorf("%s holds %d vectors, want %d", load, h.Len(), len(vs))
		}
		m, efc = h.Config().M, h.Config().EfConstruction
		logf("our HNSW loaded from %s in %.2f s", load, time.Since(t1).Seconds())
	} else {
		var err error
		if h, err = index.NewHNSW(c); err != nil {
			return err
		}
		h.Reserve(len(vs))
		t0 := time.Now()
		// AddBatch in chunks of 100 k (each on all cores) to log progress.
		const chunk = 100_000
		ids := make([]index.ID, 0, chunk)
		for lo := 0; lo < len(vs); lo += chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			hi := min(lo+chunk, len(vs))
			ids = ids[:0]
			for i := lo; i < hi; i++ {
				ids = append(ids, index.ID(i))
			}
			if err := h.AddBatch(ids, vs[lo:hi]); err != nil {
				return err
			}
			logf("our HNSW M=%d: %d added, %.0f vectors/s so far", m, hi, float64(hi)/time.Since(t0).Seconds())
		}
		rate = float64(len(vs)) / time.Since(t0).Seconds()
	}
	bpv := float64(heapNow()-h0) / float64(len(vs))
	logf("our HNSW M=%d efC=%d: built at %.0f vectors/s, %.0f B/vector", m, efc, rate, bpv)
	note := ""
	if rate > 0 {
		note = fmt.Sprintf("built with AddBatch on %d goroutine(s)", h.Config().Workers)
		if h.Config().Workers == 0 {
			note = fmt.Sprintf("built with AddBatch on %d goroutines (GOMAXPROCS)", runtime.GOMAXPROCS(0))
		}
	} else {
		note = "graph loaded, not rebuilt"
	}
	if save != "" {
		t1 := time.Now()
		if err := h.WriteFile(save); err != nil {
			return err
		}
		logf("our HNSW written to %s in %.2f s", save, time.Since(t1).Seconds())
		t1 = time.Now()
		h2, err := index.LoadHNSW(save, c)
		if err != nil {
			return err
		}
		lt := time.Since(t1).Seconds()
		if h2.Len() != h.Len() {
			return fmt.Errorf("reloaded %d vectors, want %d", h2.Len(), h.Len())
		}
		h2 = nil
		note += fmt.Sprintf("; Load from disk (page cache warm) %.2f s", lt)
	}
	for _, slack := range slacks {
		for _, ef := range efs {
			if err := h.SetSearch(ef, slack); err != nil {
				return err
			}
			r := row{system: "our HNSW", params: fmt.Sprintf("M=%d efC=%d ef=%d ε=%.2f", m, efc, ef, slack), buildRate: rate, bytesPerVec: bpv, note: note}
			nearest := func(q []float32) (index.ID, error) {
				res, err := h.Search(q, 1, nil)
				if err != nil || len(res) == 0 {
					return 0, err
				}
				return res[0].ID, nil
			}
			if err := measure(ctx, h.Within, nearest, qs, truth, tw.radii, &r); err != nil {
				return err
			}
			tw.print(w, r)
		}
	}
	return nil
}

// benchCoder measures coder/hnsw v0.6.1. It has no range search: Within is
// emulated with Search at k = 16, doubled while the k-th result is still
// inside the radius.
func benchCoder(ctx context.Context, tw *table, w io.Writer, vs, qs [][]float32, truth *truthSet, ef int, cache string, logf func(string, ...any)) error {
	g := hnsw.NewGraph[uint64]()
	g.M, g.Ml, g.Distance, g.EfSearch = 16, 1/math.Log(16), hnsw.EuclideanDistance, ef
	g.Rng = mrand.New(mrand.NewSource(1))
	var rate, bpv float64
	note := ""
	stem := filepath.Join(cache, fmt.Sprintf("coder-n%d-m16", len(vs)))
	var meta struct {
		Rate    float64 `json:"rate"`
		BPV     float64 `json:"bytes_per_vector"`
		LoadAvg string  `json:"loadavg"`
	}
	if cache != "" {
		if b, err := os.ReadFile(stem + ".json"); err == nil {
			if err := json.Unmarshal(b, &meta); err != nil {
				return fmt.Errorf("coder/hnsw cache: %w", err)
			}
			f, err := os.Open(stem + ".bin")
			if err != nil {
				return fmt.Errorf("coder/hnsw cache: %w", err)
			}
			t0 := time.Now()
			err = g.Import(bufio.NewReaderSize(f, 1<<20))
			f.Close()
			if err != nil {
				return fmt.Errorf("coder/hnsw cache: %w", err)
			}
			if g.Len() != len(vs) {
				return fmt.Errorf("coder/hnsw cache: %s holds %d nodes, want %d", stem+".bin", g.Len(), len(vs))
			}
			g.Distance, g.EfSearch = hnsw.EuclideanDistance, ef
			rate, bpv = meta.Rate, meta.BPV
			note = fmt.Sprintf("; graph imported from %s in %.1f s, build rate and memory from its build (load average then %s)",
				stem+".bin", time.Since(t0).Seconds(), meta.LoadAvg)
		}
	}
	if note == "" {
		h0 := heapNow()
		t0 := time.Now()
		for i, v := range vs {
			if i%20_000 == 0 && i > 0 {
				logf("coder/hnsw: %d added, %.0f vectors/s so far", i, float64(i)/time.Since(t0).Seconds())
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			g.Add(hnsw.MakeNode(uint64(i), v))
		}
		rate = float64(len(vs)) / time.Since(t0).Seconds()
		bpv = float64(heapNow()-h0) / float64(len(vs))
		logf("coder/hnsw: built at %.0f vectors/s", rate)
		if cache != "" {
			meta.Rate, meta.BPV, meta.LoadAvg = rate, bpv, loadAvg()
			if err := saveCoder(g, stem, meta); err != nil {
				return err
			}
		}
	}
	var mu sync.Mutex // coder/hnsw's Search is not documented as safe for concurrent use
	within := func(q []float32, r float32, dst []index.Result) ([]index.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		for k := 16; ; k *= 2 {
			dst = dst[:0]
			ns := g.Search(q, k)
			far := float32(0)
			for _, n := range ns {
				d := hnsw.EuclideanDistance(q, n.Value)
				far = max(far, d)
				if d <= r {
					dst = append(dst, index.Result{ID: index.ID(n.Key), Distance: d})
				}
			}
			if far > r || len(ns) < k || k >= len(vs) {
				return dst, nil
			}
		}
	}
	nearest := func(q []float32) (index.ID, error) {
		mu.Lock()
		defer mu.Unlock()
		ns := g.Search(q, 1)
		if len(ns) == 0 {
			return 0, nil
		}
		return index.ID(ns[0].Key), nil
	}
	r := row{n: len(vs), system: "coder/hnsw v0.6.1", params: fmt.Sprintf("M=16 ef=%d", ef), buildRate: rate, bytesPerVec: bpv,
		note: "range emulated: Search at k=16, doubled while the k-th is inside r; Search serialised (mutex)" + note}
	if err := measure(ctx, within, nearest, qs, truth, tw.radii, &r); err != nil {
		return err
	}
	tw.print(w, r)
	return nil
}

// benchHnswlib writes the data and ground truth, runs the hnswlib driver
// and copies its table rows.
func benchHnswlib(ctx context.Context, stdout, stderr io.Writer, vs, qs [][]float32, truth *truthSet, radii []float32, dir, python, script, ms, efs string, efc int, cache string, buildOnly bool, logf func(string, ...any)) error {
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "faceoptout-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	if err := writeF32(filepath.Join(dir, "base.f32"), vs); err != nil {
		return err
	}
	if err := writeF32(filepath.Join(dir, "queries.f32"), qs); err != nil {
		return err
	}
	type gt struct {
		N      int            `json:"n"`
		Dim    int            `json:"dim"`
		Radii  []float32      `json:"radii"`
		NN     []index.ID     `json:"nn"`
		Within [][][]index.ID `json:"within"`
	}
	b, err := json.Marshal(gt{N: len(vs), Dim: len(vs[0]), Radii: radii, NN: truth.nn, Within: truth.within})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "truth.json"), b, 0o600); err != nil {
		return err
	}
	logf("hnswlib: %s %s --data %s", python, script, dir)
	args := []string{script, "--data", dir, "--m", ms, "--ef", efs, "--efc", strconv.Itoa(efc)}
	if cache != "" {
		args = append(args, "--cache", cache)
	}
	if buildOnly {
		if cache == "" {
			return errors.New("bench index: -hnswlib-build-only needs -hnswlib-cache")
		}
		args = append(args, "--build-only")
	}
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("hnswlib driver: %w", err)
	}
	return nil
}

func writeF32(path string, vs [][]float32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<20)
	for _, v := range vs {
		for _, x := range v {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		}
		if len(buf) > 1<<20-4096 {
			if _, err := f.Write(buf); err != nil {
				f.Close()
				return err
			}
			buf = buf[:0]
		}
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// benchLoad times index.LoadHNSW of path runs times (after one untimed
// read of the file so that every run finds it in the page cache) and
// prints each time, the median and the graph size.
func benchLoad(w io.Writer, path string, runs, dim int) error {
	if path == "" {
		return errors.New("bench index: -load-only needs -load FILE")
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if _, err := os.ReadFile(path); err != nil {
		return err
	}
	var ts []time.Duration
	var h *index.HNSW
	for range runs {
		h = nil
		runtime.GC()
		t0 := time.Now()
		hc := index.DefaultHNSWConfig()
		hc.Dim = dim
		if h, err = index.LoadHNSW(path, hc); err != nil {
			return err
		}
		ts = append(ts, time.Since(t0))
		fmt.Fprintf(w, "load %s (%d nodes, %.0f MB): %.3f s\n", path, h.Nodes(), float64(st.Size())/1e6, ts[len(ts)-1].Seconds())
	}
	slices.Sort(ts)
	fmt.Fprintf(w, "median of %d: %.3f s (page cache warm; GOMAXPROCS %d)\n", runs, ts[len(ts)/2].Seconds(), runtime.GOMAXPROCS(0))
	return nil
}

// saveCoder exports a coder/hnsw graph to stem.bin and its build figures
// to stem.json.
func saveCoder(g *hnsw.Graph[uint64], stem string, meta any) error {
	f, err := os.Create(stem + ".bin")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := g.Export(bw); err != nil {
		f.Close()
		return fmt.Errorf("coder/hnsw export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	b, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	return os.WriteFile(stem+".json", b, 0o644)
}

// loadAvg returns the one-minute load average, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
