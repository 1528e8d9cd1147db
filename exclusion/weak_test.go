package exclusion_test

import (
	"context"
	"errors"
	"image"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// qualityEmbedder wraps the fake embedder: every face it finds gets quality
// q (as a HOG detection of that pose and margin) and is moved by shift.
type qualityEmbedder struct {
	exclusiontest.Embedder
	q     embed.Quality
	shift embed.Descriptor
}

func (e *qualityEmbedder) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	fs, err := e.Embedder.Faces(ctx, img)
	for i := range fs {
		size := fs[i].Quality.Size
		fs[i].Quality = e.q
		fs[i].Quality.Size, fs[i].Quality.Sharpness = size, 100
		for j := range e.shift {
			fs[i].Descriptor[j] += e.shift[j]
		}
	}
	return fs, err
}

// offset returns a vector of length r along the first axis.
func offset(r float64) embed.Descriptor {
	d := make(embed.Descriptor, embed.DlibDim)
	d[0] = float32(r)
	return d
}

// The weak-face rule through the Decider: a face the policy allows goes to
// review when it or the enrolled face is weak and they are within the
// rule's distance.
func TestWeakFaceRule(t *testing.T) {
	weak := embed.Quality{Size: 150, Score: 0.15, Pose: "left"}
	strong := embed.Quality{Size: 150, Score: 1.2, Pose: "frontal"}
	cnn := embed.Quality{Size: 150, Score: 0.1} // no Pose: not the HOG's margin
	base := exclusiontest.Descriptor(exclusiontest.Person(1))
	at := func(r float64) embed.Descriptor {
		d := slices.Clone(base)
		d[0] += float32(r)
		return d
	}
	type enrolled struct {
		dist float64
		q    embed.Quality
	}
	for _, tc := range []struct {
		name     string
		rule     exclusion.WeakFaceRule
		probe    *embed.Quality
		enrolled []enrolled
		want     exclusion.Verdict
		n        int
	}{
		{"weak probe in band", exclusion.WeakFaceRule{}, &weak, []enrolled{{0.65, strong}}, exclusion.Review, 1},
		{"weak probe beyond band", exclusion.WeakFaceRule{}, &weak, []enrolled{{0.69, strong}}, exclusion.Allow, 0},
		{"strong probe, strong enrolled", exclusion.WeakFaceRule{}, &strong, []enrolled{{0.65, strong}}, exclusion.Allow, 0},
		{"weak enrolled face", exclusion.WeakFaceRule{}, &strong, []enrolled{{0.65, weak}, {0.66, strong}}, exclusion.Review, 1},
		{"unknown probe quality", exclusion.WeakFaceRule{}, nil, []enrolled{{0.65, strong}}, exclusion.Allow, 0},
		{"no pose is never weak", exclusion.WeakFaceRule{}, &cnn, []enrolled{{0.65, cnn}}, exclusion.Allow, 0},
		{"block stays block", exclusion.WeakFaceRule{}, &weak, []enrolled{{0.5, strong}}, exclusion.Block, 1},
		{"rule off", exclusion.WeakFaceRule{Disabled: true}, &weak, []enrolled{{0.65, weak}}, exclusion.Allow, 0},
		{"wider rule", exclusion.WeakFaceRule{Review: 0.75}, &weak, []enrolled{{0.72, strong}}, exclusion.Review, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := exclusion.NewGallery(len(base))
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range tc.enrolled {
				// Enrolled faces sit at distance e.dist from the probe (base).
				if err := g.Add(exclusion.EnrolledFace{ID: uint64(i + 1), RequestID: "r", Descriptor: at(e.dist), Quality: e.q}); err != nil {
					t.Fatal(err)
				}
			}
			dec, err := exclusion.NewDecider(nil, tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			fc := dec.Decide(g, base, tc.probe, time.Time{})
			if fc.Verdict != tc.want || len(fc.Matches) != tc.n {
				t.Fatalf("Decide = %v with %d matches, want %v with %d", fc.Verdict, len(fc.Matches), tc.want, tc.n)
			}
			if fc.ByWeakFaceRule != (tc.want == exclusion.Review) {
				t.Errorf("ByWeakFaceRule %v", fc.ByWeakFaceRule)
			}
		})
	}
}

func TestNewFilterRejectsBadWeakFaceRule(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	for _, w := range []exclusion.WeakFaceRule{{MaxScore: -1}, {Review: 3}, {Review: -0.5}, {Review: math.NaN()}, {MaxScore: math.NaN()}} {
		cfg := exclusion.DefaultFilterConfig()
		cfg.WeakFaces = w
		if _, err := exclusion.NewFilter(reg, emb, cfg); !errors.Is(err, exclusion.ErrPolicy) {
			t.Errorf("NewFilter with weak-face rule %+v: %v, want ErrPolicy", w, err)
		}
	}
	// Zero fields are the defaults; Disabled needs nothing else.
	for _, w := range []exclusion.WeakFaceRule{{}, {MaxScore: 0.3}, {Disabled: true}, {Disabled: true, Review: 5}} {
		cfg := exclusion.DefaultFilterConfig()
		cfg.WeakFaces = w
		if _, err := exclusion.NewFilter(reg, emb, cfg); err != nil {
			t.Errorf("NewFilter with weak-face rule %+v: %v", w, err)
		}
	}
}

// A face 0.65 from an enrolled face is allowed by the default policy, sent
// to review by the default Filter when the probe or the enrolled face is a
// weak detection, and allowed again with the rule off.
func TestFilterWeakFaces(t *testing.T) {
	weakQ := embed.Quality{Score: 0.15, Pose: "left"}
	strongQ := embed.Quality{Score: 1.5, Pose: "frontal"}
	for _, tc := range []struct {
		name           string
		enrol, probe   embed.Quality
		dist           float64
		ruleOff        bool
		want, wantFace exclusion.Verdict
	}{
		{"weak probe", strongQ, weakQ, 0.65, false, exclusion.Review, exclusion.Allow},
		{"weak enrolled", weakQ, strongQ, 0.65, false, exclusion.Review, exclusion.Review},
		{"both strong", strongQ, strongQ, 0.65, false, exclusion.Allow, exclusion.Allow},
		{"weak probe too far", strongQ, weakQ, 0.70, false, exclusion.Allow, exclusion.Allow},
		{"weak probe, rule off", strongQ, weakQ, 0.65, true, exclusion.Allow, exclusion.Allow},
		{"weak probe within the policy", strongQ, weakQ, 0.5, false, exclusion.Block, exclusion.Block},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, _ := newRegistry(t, &qualityEmbedder{q: tc.enrol})
			req := mustSubmit(t, reg, faceSubmission(photo(person(1))))
			mustApprove(t, reg, req.ID)
			emb := &qualityEmbedder{q: tc.probe, shift: offset(tc.dist)}
			cfg := exclusion.DefaultFilterConfig()
			if tc.ruleOff {
				cfg.WeakFaces = exclusion.WeakFaceRule{Disabled: true}
			}
			f, err := exclusion.NewFilter(reg, emb, cfg)
			if err != nil {
				t.Fatal(err)
			}
			// The probe photo differs from the enrolled one (no SHA-256 match).
			d := f.CheckImageBytes(ctx, photo(at(person(1), 40, 30)))
			if tc.want == exclusion.Allow {
				wantVerdict(t, d, tc.want)
			} else {
				wantVerdict(t, d, tc.want, req.ID)
			}
			if tc.want == exclusion.Review && tc.probe == weakQ {
				if m := d.Faces[0].Matches; len(m) != 1 || m[0].Threshold != exclusion.DefaultWeakFaceRule().Review {
					t.Errorf("matches %+v, want one with the rule's threshold %v", m, exclusion.DefaultWeakFaceRule().Review)
				}
			}
			// CheckFaces knows no probe quality: only a weak enrolled face counts.
			q := exclusiontest.Descriptor(exclusiontest.Person(1))
			q[0] += float32(tc.dist)
			if tc.ruleOff {
				return
			}
			got := f.CheckFaces(ctx, []embed.Descriptor{q})
			if got.Verdict != tc.wantFace {
				t.Errorf("CheckFaces: %v, want %v", got.Verdict, tc.wantFace)
			}
		})
	}
}
