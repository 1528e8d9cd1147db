package metrics

import (
	"context"
	"image"

	"github.com/faceoptout/faceoptout/embed"
)

// StatsEmbedder is an embedder that reports per-stage timings, as
// *embed.Dlib does.
type StatsEmbedder interface {
	embed.Embedder
	FacesWithStats(ctx context.Context, img image.Image) ([]embed.Face, embed.Stats, error)
}

// Embedder wraps e: Faces calls FacesWithStats and records each stage's
// time (convert, wait, detect, describe) in faceoptout_embed_stage_seconds.
// Give the wrapper to exclusion.NewFilter in place of e. Safe for
// concurrent use if e is.
func (m *Metrics) Embedder(e StatsEmbedder) embed.Embedder { return &statsEmbedder{e: e, m: m} }

type statsEmbedder struct {
	e StatsEmbedder
	m *Metrics
}

func (s *statsEmbedder) Model() embed.Model { return s.e.Model() }

func (s *statsEmbedder) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	faces, st, err := s.e.FacesWithStats(ctx, img)
	s.m.ObserveEmbed(st)
	return faces, err
}

// ObserveEmbed records one call's stage timings (zero stages are not
// recorded).
func (m *Metrics) ObserveEmbed(st embed.Stats) {
	for stage, d := range map[string]float64{
		"decode": st.Decode.Seconds(), "convert": st.Convert.Seconds(), "wait": st.Wait.Seconds(),
		"detect": st.Detect.Seconds(), "describe": st.Describe.Seconds(),
	} {
		if d > 0 {
			m.stages.WithLabelValues(stage).Observe(d)
		}
	}
}
