package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/internal/facesim"
)

// benchEmbedder is what bench filter uses of an embedder: the Filter's
// fast path (FacesBytesWith) and bare FacesBytes. embed.Dlib and
// onnx.Embedder are both.
type benchEmbedder interface {
	exclusion.BytesEmbedder
	FacesBytes(ctx context.Context, data []byte) ([]embed.Face, error)
}

var (
	_ benchEmbedder = (*embed.Dlib)(nil)
	_ benchEmbedder = (*onnx.Embedder)(nil)
)

// defaultWiden is the facesim between-person widening of the bulk
// enrolments when --widen is 0: dlib's model is fitted to idols.json (134
// East-Asian idols, much tighter than a world-wide population), the ONNX
// model's to faces/eastasian, whose different-person ONNX distances are
// already those of strangers (see bulkStats's line in the bench's log).
func defaultWiden(kind string) float64 {
	if kind == embedder.ONNX {
		return 1
	}
	return 7
}

// bulkDescriptors draws the n bulk enrolments of a registry for emb's
// model, and describes them in one line for the bench's output.
//
// dlib: facesim fitted to faces/idols/idols.json (dlib descriptors).
// Any other model (the ONNX embedder): facesim fitted at run time to
// emb's descriptors of the faces/eastasian photos (the largest face of
// each photo, the person from its folder), each sample then scaled to
// unit length as the model's descriptors are. The photos' descriptors are
// cached in cacheDir, keyed by the model's ID, the detection settings and
// the files' names and sizes.
func bulkDescriptors(ctx context.Context, emb benchEmbedder, minFace int, faces, cacheDir string, n int, widen, shrink float64, logf func(string, ...any)) ([][]float32, string, error) {
	if n <= 0 {
		return nil, "", nil
	}
	m := emb.Model()
	var (
		descs  [][]float32
		labels []int
		source string
	)
	if m.Name == embed.DlibModelName {
		d, err := facesim.LoadIdols(filepath.Join(faces, "idols", "idols.json"))
		if err != nil {
			return nil, "", err
		}
		descs, labels, source = d.Descriptors, d.Labels, fmt.Sprintf("idols.json (%d faces of %d people)", len(d.Descriptors), len(d.People))
	} else {
		var people int
		var err error
		descs, labels, people, err = eastasianDescriptors(ctx, emb, minFace, filepath.Join(faces, "eastasian"), cacheDir, logf)
		if err != nil {
			return nil, "", err
		}
		source = fmt.Sprintf("%s descriptors of faces/eastasian (%d faces of %d people)", m.Name, len(descs), people)
	}
	base, err := facesim.Fit(descs, labels)
	if err != nil {
		return nil, "", fmt.Errorf("facesim fit to %s: %w", source, err)
	}
	model, err := base.Widen(widen)
	if err != nil {
		return nil, "", err
	}
	if shrink > 0 {
		if model, err = model.Shrink(shrink); err != nil {
			return nil, "", err
		}
	}
	rng := rand.New(rand.NewPCG(13, 2026))
	bulk, _, _ := model.Sample(rng, (n+1)/2, 2)
	bulk = bulk[:n]
	unit := m.Name != embed.DlibModelName
	if unit {
		for _, d := range bulk {
			normalise(d)
		}
	}
	thr := m.Threshold
	if !(thr > 0) {
		thr = embed.DlibThreshold
	}
	desc := fmt.Sprintf("facesim fitted to %s, widened %gx, shrunk %g%s; %s", source, widen, shrink,
		map[bool]string{true: ", scaled to unit length", false: ""}[unit], bulkStats(bulk, descs, labels, thr))
	return bulk, desc, nil
}

// normalise scales d to unit length (a zero vector stays zero).
func normalise(d []float32) {
	s := 0.0
	for _, x := range d {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	k := float32(1 / math.Sqrt(s))
	for i := range d {
		d[i] *= k
	}
}

// bulkStats describes the distances between bulk enrolments (consecutive
// pairs are two samples of one person, (2i, 2i+3) two people) beside those
// of the real descriptors the model was fitted to: median and share
// within thr.
func bulkStats(bulk, real [][]float32, labels []int, thr float64) string {
	var bSame, bDiff, rSame, rDiff []float64
	for i := 0; i+3 < len(bulk) && len(bDiff) < 20000; i += 2 {
		bSame = append(bSame, dist(bulk[i], bulk[i+1]))
		bDiff = append(bDiff, dist(bulk[i], bulk[i+3]))
	}
	for i := range real {
		for j := i + 1; j < len(real); j++ {
			if labels[i] == labels[j] {
				rSame = append(rSame, dist(real[i], real[j]))
			} else {
				rDiff = append(rDiff, dist(real[i], real[j]))
			}
		}
	}
	f := func(xs []float64) string { return pairSummary(xs, thr) }
	return fmt.Sprintf("bulk pairs: same person %s, different people %s; the real faces: same person %s, different people %s",
		f(bSame), f(bDiff), f(rSame), f(rDiff))
}

func dist(a, b []float32) float64 { return float64(embed.Descriptor(a).Distance(embed.Descriptor(b))) }

// eastasianCache is the cached descriptors of the faces/eastasian photos.
type eastasianCache struct {
	Key         string      `json:"key"`
	People      int         `json:"people"`
	Labels      []int       `json:"labels"`
	Descriptors [][]float32 `json:"descriptors"`
}

// eastasianDescriptors describes the largest face of every photo under
// dir (one folder per person) with emb, on workers goroutines, through a
// cache file in cacheDir. Photos without a face are left out.
func eastasianDescriptors(ctx context.Context, emb benchEmbedder, minFace int, dir, cacheDir string, logf func(string, ...any)) ([][]float32, []int, int, error) {
	var files []string
	for _, pat := range []string{"*.jpg", "*.png"} {
		fs, _ := filepath.Glob(filepath.Join(dir, "*", pat))
		files = append(files, fs...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, nil, 0, fmt.Errorf("no photos under %s (one folder per person)", dir)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\nmin-face %d\n", emb.Model().ID, emb.Model().Name, minFace)
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return nil, nil, 0, err
		}
		fmt.Fprintf(h, "%s %d\n", strings.TrimPrefix(f, dir), fi.Size())
	}
	key := hex.EncodeToString(h.Sum(nil))
	cachePath := filepath.Join(cacheDir, "eastasian-"+key[:16]+".json")
	if b, err := os.ReadFile(cachePath); err == nil {
		var c eastasianCache
		if json.Unmarshal(b, &c) == nil && c.Key == key && len(c.Labels) == len(c.Descriptors) && len(c.Labels) > 0 {
			logf("descriptors of %s read from %s", dir, cachePath)
			return c.Descriptors, c.Labels, c.People, nil
		}
	}
	logf("describing the %d photos of %s with %s (cached in %s)", len(files), dir, emb.Model().Name, cachePath)
	person := map[string]int{}
	for _, f := range files {
		p := filepath.Base(filepath.Dir(f))
		if _, ok := person[p]; !ok {
			person[p] = len(person)
		}
	}
	got := make([]embed.Descriptor, len(files))
	var (
		wg   sync.WaitGroup
		next = make(chan int)
		mu   sync.Mutex // guards firstErr
	)
	var firstErr error
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				data, err := os.ReadFile(files[i])
				if err == nil {
					var fs []embed.Face
					fs, err = emb.FacesBytes(ctx, data)
					if len(fs) > 0 {
						best := slices.MaxFunc(fs, func(a, b embed.Face) int {
							return cmp.Compare(a.Box.Dx()*a.Box.Dy(), b.Box.Dx()*b.Box.Dy())
						})
						got[i] = best.Descriptor
					}
				}
				if err != nil && !isNoFace(err) {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s: %w", files[i], err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, nil, 0, firstErr
	}
	c := eastasianCache{Key: key, People: len(person)}
	for i, d := range got {
		if d == nil {
			continue
		}
		c.Descriptors = append(c.Descriptors, d)
		c.Labels = append(c.Labels, person[filepath.Base(filepath.Dir(files[i]))])
	}
	if err := os.MkdirAll(cacheDir, 0o755); err == nil {
		if b, err := json.Marshal(c); err == nil {
			_ = os.WriteFile(cachePath, b, 0o644)
		}
	}
	return c.Descriptors, c.Labels, c.People, nil
}

// isNoFace reports whether err means only that no face was found.
func isNoFace(err error) bool { return errors.Is(err, embed.ErrNoFace) }

// defaultShrink is the facesim shrinkage (facesim.Model.Shrink) of the
// bulk enrolments when --shrink is negative: none for dlib (idols.json's
// 134 people, TestWidenCalibration); for the ONNX model, whose fit has 40
// people for 512 dimensions, the value that brings the bulk's
// different-person pairs within the model's threshold to about the share
// of the real faces' pairs (bulkStats's line in the bench's log).
func defaultShrink(kind string) float64 {
	if kind == embedder.ONNX {
		return 0.15
	}
	return 0
}

// pairSummary describes pair distances xs (sorted in place): their median
// and the share within thr.
func pairSummary(xs []float64, thr float64) string {
	if len(xs) == 0 {
		return "-"
	}
	slices.Sort(xs)
	return fmt.Sprintf("median %.3f, %.3f %% within %.2f", facesim.Median(xs), 100*facesim.FractionWithin(xs, thr), thr)
}
