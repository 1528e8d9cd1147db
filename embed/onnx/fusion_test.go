package onnx_test

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
)

// fusion runs TestFusion, which measures whether dlib and ONNX distances
// together beat ONNX alone (exclusion/EVALUATION.md):
//
//	go test ./embed/onnx -run TestFusion -fusion -v -timeout 30m
var fusion = flag.Bool("fusion", false, "run TestFusion (dlib + ONNX fused distances vs each alone on the shared faces; minutes)")

// fusionNormSet is the set whose impostor statistics normalise each model's
// distances on set: always another population than the one measured.
var fusionNormSet = map[string]string{"eastasian": "idols", "idols": "eastasian", "bbt": "eastasian"}

// distMatrix is the pairwise distance of the photos both models found a
// face in (ok); other entries are NaN.
type distMatrix struct {
	d  [][]float64
	ok []bool
}

func newDistMatrix(n int, ok []bool, dist func(i, j int) float64) distMatrix {
	m := distMatrix{d: make([][]float64, n), ok: ok}
	for i := range n {
		m.d[i] = make([]float64, n)
		for j := range n {
			m.d[i][j] = math.NaN()
			if ok[i] && ok[j] && i != j {
				m.d[i][j] = dist(i, j)
			}
		}
	}
	return m
}

// pairs returns the sorted genuine and impostor distances of m.
func (m distMatrix) pairs(photos []photo) (genuine, impostor []float64) {
	for i := range photos {
		for j := i + 1; j < len(photos); j++ {
			if !m.ok[i] || !m.ok[j] {
				continue
			}
			if photos[i].label == photos[j].label {
				genuine = append(genuine, m.d[i][j])
			} else {
				impostor = append(impostor, m.d[i][j])
			}
		}
	}
	sort.Float64s(genuine)
	sort.Float64s(impostor)
	return genuine, impostor
}

// meanStd returns the mean and standard deviation of xs.
func meanStd(xs []float64) (mean, std float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}

// eerOf returns the EER of sorted genuine and impostor scores (lower =
// more alike) and the FNMR at FMR 1 %.
func eerOf(genuine, impostor []float64) (eer, fnmrAt1 float64) {
	eer = 1
	for _, t := range append(append([]float64{}, genuine...), impostor...) {
		fmr, fnmr := rateBelow(impostor, t), 1-rateBelow(genuine, t)
		eer = math.Min(eer, math.Max(fmr, fnmr))
	}
	k := int(math.Floor(0.01 * float64(len(impostor))))
	t := math.Inf(-1)
	if k > 0 {
		t = math.Nextafter(impostor[k], math.Inf(-1))
	}
	return eer, 1 - rateBelow(genuine, t)
}

// watchList runs openSet's protocol (splits random halves enrol their first
// photo; mated probes are their other photos, strangers every photo of
// the other half) and returns, for each probe, its smallest score to the
// gallery: the mated and stranger scores, pooled over the splits.
func (m distMatrix) watchList(photos []photo, splits int) (mated, strangers []float64) {
	byLabel := map[string][]int{}
	var labels []string
	for i := range photos {
		if !m.ok[i] {
			continue
		}
		if byLabel[photos[i].label] == nil {
			labels = append(labels, photos[i].label)
		}
		byLabel[photos[i].label] = append(byLabel[photos[i].label], i)
	}
	sort.Strings(labels)
	rng := rand.New(rand.NewPCG(1, 2))
	for range splits {
		perm := rng.Perm(len(labels))
		var gallery []int
		enrolled := map[string]bool{}
		for _, k := range perm[:len(perm)/2] {
			enrolled[labels[k]] = true
			gallery = append(gallery, byLabel[labels[k]][0])
		}
		nearest := func(i int) float64 {
			best := math.Inf(1)
			for _, g := range gallery {
				if g != i {
					best = math.Min(best, m.d[i][g])
				}
			}
			return best
		}
		for _, l := range labels {
			for n, i := range byLabel[l] {
				switch {
				case enrolled[l] && n > 0:
					mated = append(mated, nearest(i))
				case !enrolled[l]:
					strangers = append(strangers, nearest(i))
				}
			}
		}
	}
	sort.Float64s(mated)
	sort.Float64s(strangers)
	return mated, strangers
}

// fnmrAtFPIR is the share of mated probes let through at the largest
// threshold that keeps at most target of the strangers out.
func fnmrAtFPIR(mated, strangers []float64, target float64) float64 {
	k := int(math.Floor(target * float64(len(strangers))))
	t := math.Inf(-1)
	if k > 0 {
		t = math.Nextafter(strangers[k], math.Inf(-1))
	}
	return 1 - rateBelow(mated, t)
}

// TestFusion embeds every photo of each set with dlib and with the default
// ONNX embedder, and compares three scores of a pair: each model's distance
// alone, and their sum after z-normalising each by its impostor mean and
// deviation on another population (fusionNormSet). Only photos where both
// models found a face count, for all three.
func TestFusion(t *testing.T) {
	if !*fusion {
		t.Skip("run with -fusion")
	}
	systems := newSystems(t, []string{"dlib", "onnx-dlib68"}, 2, 80, defaultThreshold)
	defer func() {
		for _, s := range systems {
			s.close()
		}
	}()
	type embedded struct {
		photos []photo
		descs  [2][]embed.Descriptor
		ok     []bool
	}
	sets := map[string]*embedded{}
	for _, set := range []string{"eastasian", "idols", "bbt"} {
		e := &embedded{photos: loadSet(t, set)}
		for k, s := range systems {
			e.descs[k] = describeSet(t, s.e, e.photos)
		}
		e.ok = make([]bool, len(e.photos))
		for i := range e.photos {
			e.ok[i] = e.descs[0][i] != nil && e.descs[1][i] != nil
		}
		sets[set] = e
	}
	single := func(e *embedded, k int) distMatrix {
		return newDistMatrix(len(e.photos), e.ok, func(i, j int) float64 { return e.descs[k][i].Distance(e.descs[k][j]) })
	}
	fmt.Printf("| set | score (normalised on) | photos both found | EER | FNMR @ FMR 1 %% | watch list: FNMR @ FPIR 1 %% / 5 %% (mated / strangers) |\n")
	fmt.Printf("| --- | --- | --- | --- | --- | --- |\n")
	for _, set := range []string{"eastasian", "idols", "bbt"} {
		e, norm := sets[set], sets[fusionNormSet[set]]
		var mean, std [2]float64
		for k := range 2 {
			_, imp := single(norm, k).pairs(norm.photos)
			mean[k], std[k] = meanStd(imp)
		}
		fused := newDistMatrix(len(e.photos), e.ok, func(i, j int) float64 {
			var s float64
			for k := range 2 {
				s += (e.descs[k][i].Distance(e.descs[k][j]) - mean[k]) / std[k]
			}
			return s
		})
		n := 0
		for _, ok := range e.ok {
			if ok {
				n++
			}
		}
		rows := []struct {
			name string
			m    distMatrix
		}{
			{systems[0].name, single(e, 0)},
			{systems[1].name, single(e, 1)},
			{fmt.Sprintf("fused z(dlib) + z(onnx) (%s)", fusionNormSet[set]), fused},
		}
		for _, r := range rows {
			g, imp := r.m.pairs(e.photos)
			eer, at1 := eerOf(g, imp)
			mated, strangers := r.m.watchList(e.photos, 20)
			fmt.Printf("| %s | %s | %d of %d | %.3f | %.3f | %.3f / %.3f (%d / %d) |\n", set, r.name, n, len(e.photos), eer, at1,
				fnmrAtFPIR(mated, strangers, 0.01), fnmrAtFPIR(mated, strangers, 0.05), len(mated), len(strangers))
		}
	}
}
