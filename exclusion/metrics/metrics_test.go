package metrics_test

import (
	"context"
	"encoding/json"
	"image"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/exclusion/metrics"
)

// gathered returns every sample's value by metric name and label values.
func gathered(t *testing.T, r *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[key+",count"] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

func TestFilterMetrics(t *testing.T) {
	ctx := context.Background()
	emb := &exclusiontest.Embedder{}
	reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), emb, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	img := exclusiontest.PNG(exclusiontest.Image(160, 160, exclusiontest.Face{Box: image.Rect(20, 20, 140, 140), Color: exclusiontest.Person(3)}))
	req, err := reg.Submit(ctx, &exclusion.Submission{
		Kind: exclusion.FaceOptOut, Country: "DE", Reason: "metrics test", Name: "Jo",
		Email: "jo@example.org", Phone: "+4915123456789", Photos: []exclusion.Photo{{Data: img}},
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Approve(ctx, req.ID, "test", ""); err != nil {
		t.Fatal(err)
	}
	flt, err := exclusion.NewFilter(reg, emb, exclusion.DefaultFilterConfig())
	if err != nil {
		t.Fatal(err)
	}
	pr := prometheus.NewRegistry()
	m, err := metrics.New(pr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.New(pr); err == nil {
		t.Error("a second New on one Registerer succeeded")
	}
	if err := m.WatchRegistry(reg); err != nil {
		t.Fatal(err)
	}
	if err := m.WatchRegistry(reg); err == nil {
		t.Error("watching twice succeeded")
	}
	f := m.Filter(flt)
	tests := []struct {
		name  string
		check func() exclusion.Decision
		want  exclusion.Verdict
	}{
		{"enrolled face", func() exclusion.Decision {
			return f.CheckFaces(ctx, []embed.Descriptor{exclusiontest.Descriptor(exclusiontest.Person(3))})
		}, exclusion.Block},
		{"stranger", func() exclusion.Decision {
			return f.CheckFaces(ctx, []embed.Descriptor{exclusiontest.Descriptor(exclusiontest.Person(9))})
		}, exclusion.Allow},
		{"photo", func() exclusion.Decision { return f.CheckImageBytes(ctx, img) }, exclusion.Block},
		{"garbage", func() exclusion.Decision { return f.CheckImageBytes(ctx, []byte("not an image")) }, exclusion.Unchecked},
		{"url", func() exclusion.Decision { return f.CheckURL(ctx, "https://example.org/a.jpg") }, exclusion.Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := tt.check(); d.Verdict != tt.want {
				t.Errorf("verdict %s, want %s (%v)", d.Verdict, tt.want, d.Err)
			}
		})
	}
	got := gathered(t, pr)
	want := map[string]float64{
		"faceoptout_checks_total,op=faces,verdict=block":     1,
		"faceoptout_checks_total,op=faces,verdict=allow":     1,
		"faceoptout_checks_total,op=image,verdict=block":     1,
		"faceoptout_checks_total,op=image,verdict=unchecked": 1,
		"faceoptout_checks_total,op=url,verdict=allow":       1,
		"faceoptout_check_seconds,op=faces,count":            2,
		"faceoptout_check_seconds,op=image,count":            2,
		"faceoptout_faces":             1,
		"faceoptout_index_approximate": 0,
		"faceoptout_index_building":    0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if f.Unwrap() != flt {
		t.Error("Unwrap")
	}
}

func TestStatusHandlerMethods(t *testing.T) {
	// A nil replica is never dereferenced for a refused method.
	h := metrics.StatusHandler(nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/index/status", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
	var v map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &v)
}

// stagesEmbedder is the fake embedder with fixed stage timings.
type stagesEmbedder struct{ exclusiontest.Embedder }

func (s *stagesEmbedder) FacesWithStats(ctx context.Context, img image.Image) ([]embed.Face, embed.Stats, error) {
	faces, err := s.Faces(ctx, img)
	return faces, embed.Stats{Convert: time.Millisecond, Detect: 20 * time.Millisecond, Describe: 5 * time.Millisecond}, err
}

func TestEmbedderStages(t *testing.T) {
	pr := prometheus.NewRegistry()
	m, err := metrics.New(pr)
	if err != nil {
		t.Fatal(err)
	}
	e := m.Embedder(&stagesEmbedder{})
	if e.Model() != (&exclusiontest.Embedder{}).Model() {
		t.Error("the wrapper changes the model")
	}
	img := exclusiontest.Image(160, 160, exclusiontest.Face{Box: image.Rect(20, 20, 140, 140), Color: exclusiontest.Person(1)})
	for range 3 {
		faces, err := e.Faces(context.Background(), img)
		if err != nil || len(faces) != 1 {
			t.Fatalf("%d faces, %v", len(faces), err)
		}
	}
	got := gathered(t, pr)
	for _, stage := range []string{"convert", "detect", "describe"} {
		if n := got["faceoptout_embed_stage_seconds,stage="+stage+",count"]; n != 3 {
			t.Errorf("stage %s: %v observations, want 3", stage, n)
		}
	}
	if n := got["faceoptout_embed_stage_seconds,stage=wait,count"]; n != 0 {
		t.Errorf("zero stage observed %v times", n)
	}
}
