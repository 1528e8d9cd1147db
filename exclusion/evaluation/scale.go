package evaluation

import (
	"fmt"
	"math"

	"github.com/faceoptout/faceoptout/index"
	"github.com/faceoptout/faceoptout/internal/facesim"
)

// ScalePoint is the FPIR of a global threshold with N enrolled faces.
type ScalePoint struct {
	N         int
	Threshold float64
	FPIR      Rate
	// Predicted is 1 - (1 - FMR)^N with FMR the pairwise false-match rate
	// measured on the same model at the same threshold.
	Predicted float64
}

// ScaleConfig configures FPIRAtScale.
type ScaleConfig struct {
	Sizes      []int     // enrolled faces, e.g. 10k, 100k, 1M
	Thresholds []float64 // global thresholds
	Probes     int       // stranger probes per size
	Seed       uint64
}

// FPIRAtScale enrols N face-like descriptors (N people, one face each, drawn
// from model) in an exact index (index.Flat) for every size and probes with
// Probes descriptors of people never enrolled: a stranger is blocked when
// any enrolled face is within the threshold. Sizes are filled
// incrementally, so the largest size costs one index build.
func FPIRAtScale(model *facesim.Model, cfg ScaleConfig) ([]ScalePoint, error) {
	if len(cfg.Sizes) == 0 || len(cfg.Thresholds) == 0 || cfg.Probes < 1 {
		return nil, fmt.Errorf("%w: scale config %+v", ErrData, cfg)
	}
	rng := newRand(cfg.Seed)
	probes, _, _ := model.Sample(rng, cfg.Probes, 1)
	// Pairwise FMR from the probes against fresh identities.
	pairs := 200000
	a, _, _ := model.Sample(rng, pairs/100, 1)
	fmr := make([]float64, len(cfg.Thresholds))
	for i := range a {
		for j := range 100 {
			d := l2(a[i], probes[j%len(probes)])
			for k, t := range cfg.Thresholds {
				if d <= t {
					fmr[k]++
				}
			}
		}
	}
	for k := range fmr {
		fmr[k] /= float64(len(a) * 100)
	}
	idx, err := index.NewFlat(index.DefaultFlatConfig())
	if err != nil {
		return nil, err
	}
	rmax := 0.0
	for _, t := range cfg.Thresholds {
		rmax = math.Max(rmax, t)
	}
	var out []ScalePoint
	n := 0
	for _, size := range cfg.Sizes {
		for n < size {
			batch := min(size-n, 10000)
			ds, _, _ := model.Sample(rng, batch, 1)
			for _, d := range ds {
				if err := idx.Add(index.ID(n+1), d); err != nil {
					return nil, err
				}
				n++
			}
		}
		res, err := idx.WithinBatch(probes, float32(rmax))
		if err != nil {
			return nil, err
		}
		for k, t := range cfg.Thresholds {
			hit := 0
			for _, r := range res {
				if len(r) > 0 && float64(r[0].Distance) <= t {
					hit++
				}
			}
			out = append(out, ScalePoint{N: size, Threshold: t, FPIR: Wilson(hit, len(probes), Z95),
				Predicted: 1 - math.Pow(1-fmr[k], float64(size))})
		}
	}
	return out, nil
}

func l2(a, b []float32) float64 {
	var s float64
	for i := range a {
		x := float64(a[i] - b[i])
		s += x * x
	}
	return math.Sqrt(s)
}
