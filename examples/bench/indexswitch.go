package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/faceoptout/faceoptout/index"
)

// switchParams are the settings of `bench index -systems switch`.
type switchParams struct {
	upTo, m, efc, workers int
	efs                   []int
	slacks                []float32
}

// switchRow is one line of the switch table.
type switchRow struct {
	system, phase, params string
	agree, rr             []float64 // per radius: decision agreement, radius recall
	ids                   []float64 // per radius: ids returned per query (mean)
	bytesPerFace          float64   // heap growth per face; 0: not measured
	build                 time.Duration
	p50, p99              []time.Duration
	recall1               float64 // -1: not measured
	queries               int
	note                  string
}

// benchSwitch measures what the exclusion Gallery gets from index.Index
// in ModeAuto, side by side with the exact index in one run:
//
//  1. the baseline, an Index in ModeExact holding every face;
//  2. an Index in ModeAuto with ExactUpTo = p.upTo, loaded with 99 % of
//     the faces in one AdoptBatch (as a replica loads its snapshot), which
//     starts the background build: queries run on one goroutine and the
//     last 1 % of the faces are added on another while the graph builds
//     (the Flat answers; its answers are checked against the exact ones
//     over the faces loaded);
//  3. the same Index once the graph answers, at every (ef, ε).
//
// Each row also gives the ids returned per query, the heap growth per
// face (the exact Index; the ModeAuto Index once the graph answers) and
// the build time (AddBatch of every face; the background build).
//
// Decision agreement is the share of queries whose set of requests
// (facesim identities) with a face within r equals the exact one: the
// Gallery blocks or reviews on exactly those requests.
func benchSwitch(ctx context.Context, w io.Writer, vs [][]float32, labels []int, qs [][]float32, truth *truthSet, rs []float32, p switchParams, logf func(string, ...any)) error {
	dim := len(vs[0])
	n := len(vs)
	held := max(1, n/100)
	nBase := n - held
	reqs := func(ids []index.ID, below int) []int {
		var out []int
		for _, id := range ids {
			if int(id) < below {
				out = append(out, labels[id])
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	resIDs := func(res []index.Result) []index.ID {
		ids := make([]index.ID, len(res))
		for i, x := range res {
			ids[i] = x.ID
		}
		return ids
	}
	want := make([][][]int, len(rs)) // [radius][query] requests within r
	for ri := range rs {
		for qi := range qs {
			want[ri] = append(want[ri], reqs(truth.within[ri][qi], n))
		}
	}

	fmt.Fprintf(w, "\n| N | index | phase | parameters |")
	for _, r := range rs {
		fmt.Fprintf(w, " decision agreement r=%.2f | radius recall r=%.2f | p50 / p99 r=%.2f | ids per query r=%.2f |", r, r, r, r)
	}
	fmt.Fprintf(w, " nearest recall | queries | bytes/face | build | notes |\n|")
	for range 9 + 4*len(rs) {
		fmt.Fprint(w, " --- |")
	}
	fmt.Fprintln(w)
	print := func(r switchRow) {
		fmt.Fprintf(w, "| %d | %s | %s | %s |", n, r.system, r.phase, r.params)
		for i := range rs {
			if i < len(r.agree) && r.agree[i] >= 0 {
				fmt.Fprintf(w, " %.4f | %.4f | %s / %s | %.1f |", r.agree[i], r.rr[i], fmtDur(r.p50[i]), fmtDur(r.p99[i]), r.ids[i])
			} else {
				fmt.Fprint(w, " - | - | - | - |")
			}
		}
		rec := "-"
		if r.recall1 >= 0 {
			rec = fmt.Sprintf("%.4f", r.recall1)
		}
		bpf, build := "-", "-"
		if r.bytesPerFace > 0 {
			bpf = fmt.Sprintf("%.0f", r.bytesPerFace)
		}
		if r.build > 0 {
			build = r.build.Round(time.Millisecond).String()
		}
		fmt.Fprintf(w, " %s | %d | %s | %s | %s |\n", rec, r.queries, bpf, build, r.note)
	}
	// measureAll times x over qs at every radius on one goroutine and
	// checks its answers against the exact ones.
	measureAll := func(x *index.Index, r *switchRow) error {
		lat := make([]time.Duration, len(qs))
		var dst []index.Result
		for ri, rad := range rs {
			agree, cover, nids := 0, 0, 0
			for i, q := range qs {
				if err := ctx.Err(); err != nil {
					return err
				}
				t0 := time.Now()
				var err error
				dst, err = x.Within(q, rad, dst)
				lat[i] = time.Since(t0)
				if err != nil {
					return err
				}
				nids += len(dst)
				if covers(dst, truth.within[ri][i]) {
					cover++
				}
				if slices.Equal(reqs(resIDs(dst), n), want[ri][i]) {
					agree++
				}
			}
			slices.Sort(lat)
			r.agree = append(r.agree, float64(agree)/float64(len(qs)))
			r.rr = append(r.rr, float64(cover)/float64(len(qs)))
			r.ids = append(r.ids, float64(nids)/float64(len(qs)))
			r.p50 = append(r.p50, lat[len(lat)/2])
			r.p99 = append(r.p99, lat[len(lat)*99/100])
		}
		hit := 0
		for i, q := range qs {
			res, err := x.Search(q, 1, nil)
			if err != nil {
				return err
			}
			if len(res) > 0 && res[0].ID == truth.nn[i] {
				hit++
			}
		}
		r.recall1 = float64(hit) / float64(len(qs))
		r.queries = len(qs) * len(rs)
		return nil
	}
	allData := slices.Concat(vs...)
	ids := make([]index.ID, n)
	for i := range ids {
		ids[i] = index.ID(i)
	}

	// 1. The baseline: exact at every size.
	logf("switch: exact baseline, %d queries per radius", len(qs))
	h0 := heapNow()
	t0 := time.Now()
	ex, err := index.New(index.Config{Dim: dim, Mode: index.ModeExact, Flat: index.FlatConfig{Workers: 1}})
	if err != nil {
		return err
	}
	if err := ex.AddBatch(ids, allData); err != nil {
		return err
	}
	base := switchRow{system: "exact (Index, ModeExact)", phase: "-", params: "1 core per query", build: time.Since(t0)}
	base.bytesPerFace = perFace(h0, n)
	if err := measureAll(ex, &base); err != nil {
		return err
	}
	print(base)
	ex = nil
	h0 = heapNow()

	// 2. ModeAuto: load, build in the background, answer meanwhile.
	hc := index.HNSWConfig{M: p.m, EfConstruction: p.efc, EfSearch: p.efs[0], RangeSlack: p.slacks[0], Workers: p.workers}
	x, err := index.New(index.Config{Dim: dim, Mode: index.ModeAuto, ExactUpTo: p.upTo, Flat: index.FlatConfig{Workers: 1}, HNSW: hc})
	if err != nil {
		return err
	}
	defer x.Close()
	logf("switch: ModeAuto, ExactUpTo %d: loading %d faces, then %d added during the build", p.upTo, nBase, held)
	t0 = time.Now()
	if err := x.AdoptBatch(ids[:nBase], allData[:nBase*dim]); err != nil {
		return err
	}
	if s := x.Status(); !s.Building && s.Exact {
		return fmt.Errorf("switch: no background build after loading %d faces (ExactUpTo %d): %+v", nBase, p.upTo, s)
	}
	addsDone := make(chan int, 1)
	go func() { // the held-back faces, one every 10 ms while the graph builds
		during := 0
		for i := nBase; i < n; i++ {
			if x.Status().Building {
				during++
				time.Sleep(10 * time.Millisecond)
			}
			if err := x.Add(index.ID(i), vs[i]); err != nil {
				logf("switch: add %d: %v", i, err)
			}
		}
		addsDone <- during
	}()
	rad := rs[len(rs)-1]
	var lat []time.Duration
	agree, cover, exact, nids := 0, 0, 0, 0
	var dst []index.Result
	for i := 0; x.Status().Building; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		qi := i % len(qs)
		t := time.Now()
		dst, err = x.Within(qs[qi], rad, dst)
		lat = append(lat, time.Since(t))
		if err != nil {
			return err
		}
		nids += len(dst)
		if x.Exact() {
			exact++
		}
		// Over the faces loaded, the Flat's answer is the exact one.
		tw := truth.within[len(rs)-1][qi]
		if slices.Equal(reqs(resIDs(dst), nBase), reqs(tw, nBase)) {
			agree++
		}
		if covers(dst, slices.DeleteFunc(slices.Clone(tw), func(id index.ID) bool { return int(id) >= nBase })) {
			cover++
		}
		if i%1000 == 999 {
			s := x.Status()
			logf("switch: building: %d / %d connected, %d queries answered", s.BuildDone, s.BuildTotal, len(lat))
		}
	}
	if err := x.Wait(ctx); err != nil {
		return err
	}
	build := time.Since(t0)
	during := <-addsDone
	st := x.Status()
	bpf := perFace(h0, n)
	logf("switch: built in %s: %+v; %.0f bytes/face", build.Round(time.Millisecond), st, bpf)
	if st.Exact || st.Len != n {
		return fmt.Errorf("switch: after the build: %+v, want hnsw with %d faces", st, n)
	}
	brow := switchRow{system: "Index, ModeAuto", phase: "during the build", params: fmt.Sprintf("ExactUpTo=%d", p.upTo), recall1: -1, queries: len(lat), build: build}
	if len(lat) > 0 {
		slices.Sort(lat)
		for range rs[:len(rs)-1] {
			brow.agree, brow.rr, brow.ids = append(brow.agree, -1), append(brow.rr, -1), append(brow.ids, -1) // not measured
			brow.p50, brow.p99 = append(brow.p50, 0), append(brow.p99, 0)
		}
		brow.agree = append(brow.agree, float64(agree)/float64(len(lat)))
		brow.rr = append(brow.rr, float64(cover)/float64(len(lat)))
		brow.ids = append(brow.ids, float64(nids)/float64(len(lat)))
		brow.p50, brow.p99 = append(brow.p50, lat[len(lat)/2]), append(brow.p99, lat[len(lat)*99/100])
	}
	brow.note = fmt.Sprintf("background build of %d faces in %s (M=%d efC=%d, %s build workers); %d faces added during it (replayed); r=%.2f only, agreement and recall over the faces loaded; %.4f of the answers with Exact() true; queries share the cores with the build",
		nBase, build.Round(time.Millisecond), p.m, p.efc, workersName(p.workers), during, rad, float64(exact)/float64(max(1, len(lat))))
	print(brow)

	// 3. The graph answers.
	for _, ef := range p.efs {
		for _, sl := range p.slacks {
			if err := x.SetSearch(ef, sl); err != nil {
				return err
			}
			logf("switch: HNSW ef=%d ε=%.2f", ef, sl)
			r := switchRow{system: "Index, ModeAuto", phase: "after the switch (HNSW)", params: fmt.Sprintf("M=%d efC=%d ef=%d ε=%.2f", p.m, p.efc, ef, sl), bytesPerFace: bpf, build: build}
			if err := measureAll(x, &r); err != nil {
				return err
			}
			print(r)
		}
	}
	return nil
}

func workersName(n int) string {
	if n == 0 {
		return "GOMAXPROCS"
	}
	return strings.TrimSpace(fmt.Sprint(n))
}

// perFace returns the heap's growth since h0 (heapNow) per face, 0 when
// the heap shrank.
func perFace(h0 uint64, n int) float64 {
	h := heapNow()
	if h < h0 || n == 0 {
		return 0
	}
	return float64(h-h0) / float64(n)
}
