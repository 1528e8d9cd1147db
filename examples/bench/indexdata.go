package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/internal/facesim"
)

// indexData says where bench index's face model comes from (-data-model).
type indexData struct {
	kind     string // embedder.Dlib or embedder.ONNX
	idols    string // dlib: idols.json
	faces    string // onnx: the shared faces directory (its eastasian folder)
	cache    string // onnx: the directory of the cached eastasian descriptors
	embedder *embedder.Flags
	widen    float64
	shrink   float64
}

// defaultIndexRadii are bench index's radii when -radii is empty: for
// dlib a narrow radius and the model's threshold 0.6; for the ONNX model
// the same ratio (0.75) of its threshold and the threshold.
func defaultIndexRadii(kind string) string {
	if kind == embedder.ONNX {
		return fmt.Sprintf("%.2f,%.2f", 0.75*onnx.DefaultThreshold, onnx.DefaultThreshold)
	}
	return "0.45,0.6"
}

// fitIndexModel returns the facesim model bench index samples from, and
// a line that describes it.
//
// dlib: fitted to idols.json (dlib descriptors). onnx: fitted at run time
// to the ONNX model's descriptors of the faces/eastasian photos (through
// eastasianDescriptors and its cache, as bench filter does); samples are
// then scaled to unit length (unit reports it), as the model's
// descriptors are. Nothing of the photos is written outside the cache.
func fitIndexModel(ctx context.Context, d indexData, logf func(string, ...any)) (model *facesim.Model, unit bool, desc string, err error) {
	var (
		descs  [][]float32
		labels []int
		source string
	)
	switch d.kind {
	case embedder.Dlib:
		id, err := facesim.LoadIdols(d.idols)
		if err != nil {
			return nil, false, "", err
		}
		descs, labels = id.Descriptors, id.Labels
		source = fmt.Sprintf("dlib descriptors of idols.json (%d faces of %d people)", len(descs), len(id.People))
	case embedder.ONNX:
		oe, err := onnx.New(d.embedder.ONNXConfig())
		if err != nil {
			return nil, false, "", err
		}
		defer oe.Close()
		var people int
		descs, labels, people, err = eastasianDescriptors(ctx, oe, d.embedder.DlibConfig().MinFaceSize, filepath.Join(d.faces, "eastasian"), d.cache, logf)
		if err != nil {
			return nil, false, "", err
		}
		source = fmt.Sprintf("%s descriptors (%d-D) of faces/eastasian (%d faces of %d people)", oe.Model().Name, oe.Model().Dim, len(descs), people)
		unit = true
	default:
		return nil, false, "", fmt.Errorf("-data-model %q: want %s or %s", d.kind, embedder.Dlib, embedder.ONNX)
	}
	base, err := facesim.Fit(descs, labels)
	if err != nil {
		return nil, false, "", fmt.Errorf("facesim fit to %s: %w", source, err)
	}
	if model, err = base.Widen(d.widen); err != nil {
		return nil, false, "", err
	}
	if d.shrink > 0 {
		if model, err = model.Shrink(d.shrink); err != nil {
			return nil, false, "", err
		}
	}
	desc = fmt.Sprintf("facesim fitted to %s, between-person covariance x%g, shrunk %g", source, d.widen, d.shrink)
	if unit {
		desc += ", samples scaled to unit length"
	}
	return model, unit, desc, nil
}

// pairStats describes the distances of the sampled faces beside the
// threshold: same-person pairs (consecutive faces of one label) and
// different-person pairs (faces far apart in a fixed stride), at most
// 20,000 of each.
func pairStats(vs [][]float32, labels []int, thr float64) string {
	var same, diff []float64
	for i := 0; i+1 < len(vs) && len(same) < 20000; i++ {
		if labels[i] == labels[i+1] {
			same = append(same, dist(vs[i], vs[i+1]))
		}
	}
	for i := 0; len(diff) < 20000 && i < len(vs); i++ {
		j := (i*7919 + 1) % len(vs)
		if labels[i] != labels[j] {
			diff = append(diff, dist(vs[i], vs[j]))
		}
	}
	f := func(xs []float64) string { return pairSummary(xs, thr) }
	return fmt.Sprintf("enrolled pairs: same person %s; different people %s", f(same), f(diff))
}

// modelThreshold is the decision threshold of the data's model.
func modelThreshold(kind string) float64 {
	if kind == embedder.ONNX {
		return onnx.DefaultThreshold
	}
	return embed.DlibThreshold
}
