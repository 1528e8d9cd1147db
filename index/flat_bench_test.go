package index

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/internal/facesim"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// BenchmarkFlatRange times Flat's range queries through the int8 shadow
// beside the float32 scan they replace, on the same index in the same run:
//
//	go test -run '^$' -bench FlatRange -benchtime 1x -timeout 30m ./index/ -flat.n 1000000
//
// One op is a pass over all 256 queries (singly, or in batches of 64).
//
// Data as in `examples/bench index`: idols.json fitted, the
// between-person covariance widened ×7, 4 samples per person; queries half
// new samples of enrolled people, half new people. The data is cached in
// the temporary directory. Metrics: ns/query, recheck (share of scanned
// rows re-checked in float32), and B/vec (float32 row + id, plus the
// shadow's codes, norm and error bound when it is used). cpu-ns/query is
// the process's CPU time per query (all cores together): on a machine
// shared with other work it shows the cost that wall-clock time hides.
var (
	flatBenchN     = flag.Int("flat.n", 100_000, "vectors in BenchmarkFlatRange")
	flatBenchCache = flag.Bool("flat.cache", true, "cache BenchmarkFlatRange data in the temporary directory")
)

func flatBenchData(b *testing.B, n, nq int) (vs, qs [][]float32) {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("faceoptout-flatbench-%d-%d.f32", n, nq))
	if *flatBenchCache {
		if raw, err := os.ReadFile(path); err == nil && len(raw) == (n+nq)*128*4 {
			all := make([][]float32, n+nq)
			for i := range all {
				all[i] = make([]float32, 128)
				for j := range all[i] {
					all[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[(i*128+j)*4:]))
				}
			}
			return all[:n], all[n:]
		}
	}
	d, err := facesim.LoadIdols(filepath.Join(testenv.Faces(b), "idols", "idols.json"))
	if err != nil {
		b.Fatal(err)
	}
	base, err := facesim.Fit(d.Descriptors, d.Labels)
	if err != nil {
		b.Fatal(err)
	}
	m, err := base.Widen(7)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2026))
	vs, _, centres := m.Sample(rng, (n+3)/4, 4)
	vs = vs[:n]
	for i := range nq {
		if i%2 == 0 {
			qs = append(qs, m.SampleOf(rng, centres[rng.IntN(len(centres))]))
		} else {
			qs = append(qs, m.SampleOf(rng, m.Identity(rng)))
		}
	}
	if *flatBenchCache {
		raw := make([]byte, 0, (n+nq)*128*4)
		for _, v := range append(vs[:len(vs):len(vs)], qs...) {
			for _, x := range v {
				raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
			}
		}
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			b.Logf("cache: %v", err)
		}
	}
	return vs, qs
}

func BenchmarkFlatRange(b *testing.B) {
	n := *flatBenchN
	vs, qs := flatBenchData(b, n, 256)
	f := mustFlat(b, 128, nil)
	f.Reserve(n)
	start := time.Now()
	for i, v := range vs {
		if err := f.Add(ID(i), v); err != nil {
			b.Fatal(err)
		}
	}
	addTime := time.Since(start)
	// The shadow as LoadFlat builds it: from all rows at once.
	start = time.Now()
	f.mu.Lock()
	f.sh.derive(f.data, len(f.ids), 1)
	f.mu.Unlock()
	fmt.Fprintf(os.Stderr, "N=%d: Add %.0f ns/vector (shadow kept in step); shadow rebuild from all rows on 1 core (LoadFlat does it on Workers cores) %v; scale %.5f, mean error bound %.4f, max %.4f\n",
		n, float64(addTime.Nanoseconds())/float64(n), time.Since(start), f.sh.scale, meanErr(&f.sh)*f.sh.scale, float64(f.sh.emax)*f.sh.scale)

	// Exactness at this scale: the shadow's answers (single and batched)
	// against the float32 scan's, every query, both radii.
	for _, r := range []float32{0.45, 0.6} {
		f.scan32.Store(true)
		want, err := f.WithinBatch(qs, r)
		if err != nil {
			b.Fatal(err)
		}
		f.scan32.Store(false)
		got, err := f.WithinBatch(qs, r)
		if err != nil {
			b.Fatal(err)
		}
		inRadius := 0
		for i, q := range qs {
			one, err := f.Within(q, r, nil)
			if err != nil {
				b.Fatal(err)
			}
			if !slices.Equal(one, want[i]) || !slices.Equal(got[i], want[i]) {
				b.Fatalf("r=%.2f query %d: shadow answers differ from the float32 scan (%d, %d, want %d results)", r, i, len(one), len(got[i]), len(want[i]))
			}
			inRadius += len(want[i])
		}
		fmt.Fprintf(os.Stderr, "r=%.2f: shadow == float32 scan for all %d queries (single and batched), %.1f ids in radius per query\n", r, len(qs), float64(inRadius)/float64(len(qs)))
	}

	bytes32 := float64(4*f.cfg.Dim + 8)
	bytesShadow := bytes32 + float64(f.sh.stride+4+4)
	for _, r := range []float32{0.45, 0.6} {
		for _, path := range []string{"float32", "shadow"} {
			use32 := path == "float32"
			perVec := bytesShadow
			if use32 {
				perVec = bytes32
			}
			b.Run(fmt.Sprintf("r=%.2f/%s/single-1core", r, path), func(b *testing.B) {
				f.scan32.Store(use32)
				f.cfg.Workers = 1
				f.rechecked.Store(0)
				f.scanned.Store(0)
				var dst []Result
				c0 := cpuTime()
				for b.Loop() {
					for _, q := range qs {
						dst, _ = f.Within(q, r, dst)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(qs)), "ns/query")
				b.ReportMetric(float64(cpuTime()-c0)/float64(b.N*len(qs)), "cpu-ns/query")
				report(b, f, perVec)
			})
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("r=%.2f/%s/batch64-%dcore", r, path, workers), func(b *testing.B) {
					f.scan32.Store(use32)
					f.cfg.Workers = workers
					f.rechecked.Store(0)
					f.scanned.Store(0)
					c0 := cpuTime()
					for b.Loop() {
						for lo := 0; lo < len(qs); lo += 64 {
							if _, err := f.WithinBatch(qs[lo:min(lo+64, len(qs))], r); err != nil {
								b.Fatal(err)
							}
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(qs)), "ns/query")
					b.ReportMetric(float64(cpuTime()-c0)/float64(b.N*len(qs)), "cpu-ns/query")
					report(b, f, perVec)
				})
			}
		}
	}
	f.scan32.Store(false)
	f.cfg.Workers = 0
}

func report(b *testing.B, f *Flat, perVec float64) {
	if s := f.scanned.Load(); s > 0 {
		b.ReportMetric(float64(f.rechecked.Load())/float64(s), "recheck")
	}
	b.ReportMetric(perVec, "B/vec")
}

func meanErr(s *shadow) float64 {
	var t float64
	for _, e := range s.errs {
		t += float64(e)
	}
	return t / float64(max(1, len(s.errs)))
}

// BenchmarkFlatAdd times Add with the shadow kept in step against Add
// without it (float32 rows only), on face-like data.
func BenchmarkFlatAdd(b *testing.B) {
	vs, _ := flatBenchData(b, 20_000, 256)
	for _, shadowed := range []bool{false, true} {
		b.Run(fmt.Sprintf("shadow=%v", shadowed), func(b *testing.B) {
			for b.Loop() {
				f := mustFlat(b, 128, nil)
				if !shadowed {
					f.sh.rows = -1 // never fresh: Add leaves the shadow alone
				}
				for i, v := range vs {
					if err := f.Add(ID(i), v); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vs)), "ns/add")
		})
	}
}
