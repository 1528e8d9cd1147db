package exclusion_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"iter"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/evaluation"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// weakPeopleEmbedder is the fake embedder whose faces of the people in weak
// are weak HOG detections (margin 0.15, turned left); others are strong.
type weakPeopleEmbedder struct {
	exclusiontest.Embedder
	weak []int
}

var (
	weakQuality   = embed.Quality{Score: 0.15, Pose: "left"}
	strongQuality = embed.Quality{Score: 1.5, Pose: "frontal"}
)

func (e *weakPeopleEmbedder) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	fs, err := e.Embedder.Faces(ctx, img)
	for i := range fs {
		q := strongQuality
		for _, p := range e.weak {
			if fs[i].Descriptor.Distance(exclusiontest.Descriptor(exclusiontest.Person(p))) == 0 {
				q = weakQuality
			}
		}
		q.Size, q.Sharpness = fs[i].Quality.Size, fs[i].Quality.Sharpness
		fs[i].Quality = q
	}
	return fs, err
}

// near returns person p's descriptor moved r along the first axis: exactly
// r from it.
func near(p int, r float64) embed.Descriptor {
	d := exclusiontest.Descriptor(exclusiontest.Person(p))
	d[0] += float32(r)
	return d
}

// Every path that judges a face decides the same: Filter.CheckFaces,
// FilterResults, Sweep and the evaluation harness's PolicyMethod, with the
// default configuration, on faces that include one 0.65 from a weakly
// detected enrolled face (review by the weak-face rule, which Sweep once
// skipped) and one that cannot be judged (NaN).
func TestOneDecisionPath(t *testing.T) {
	emb := &weakPeopleEmbedder{weak: []int{1}}
	reg, _ := newRegistry(t, emb)
	weakReq := mustSubmit(t, reg, faceSubmission(photo(person(1))))
	strongReq := mustSubmit(t, reg, faceSubmission(photo(person(2))))
	mustApprove(t, reg, weakReq.ID)
	mustApprove(t, reg, strongReq.ID)
	f := newFilter(t, reg, emb)

	nan := exclusiontest.Descriptor(exclusiontest.Person(3))
	nan[5] = float32(math.NaN())
	probes := []struct {
		name string
		d    embed.Descriptor
		want exclusion.Verdict
	}{
		{"weak enrolled face itself", near(1, 0), exclusion.Block},
		{"0.65 from the weak enrolled face", near(1, 0.65), exclusion.Review},
		{"0.70 from the weak enrolled face", near(1, 0.70), exclusion.Allow},
		{"0.5 from a strong enrolled face", near(2, 0.5), exclusion.Block},
		{"0.65 from a strong enrolled face", near(2, 0.65), exclusion.Allow},
		{"nobody enrolled", near(4, 0), exclusion.Allow},
		{"not a number", nan, exclusion.Unchecked},
	}

	// The evaluation harness on the same enrolled faces, one request per
	// person, with the Filter's policy and weak-face rule.
	cfg := exclusion.DefaultFilterConfig()
	sp := evaluation.Split{Enrolled: []evaluation.Enrolment{
		{Person: weakReq.ID, Faces: []embed.Descriptor{near(1, 0)}, Qualities: []embed.Quality{weakQuality}},
		{Person: strongReq.ID, Faces: []embed.Descriptor{near(2, 0)}, Qualities: []embed.Quality{strongQuality}},
	}}
	var counts evaluation.VerdictCounts
	m := evaluation.ThresholdMethod(exclusion.DefaultBlockThreshold, exclusion.DefaultReviewThreshold, &counts)
	m.Weak = cfg.WeakFaces
	score, err := m.Prepare(&sp)
	if err != nil {
		t.Fatal(err)
	}
	harness := func(d embed.Descriptor) exclusion.Verdict {
		before := cloneCounts(counts.Strangers)
		score(&evaluation.Probe{Face: evaluation.Face{Descriptor: d}})
		for v, n := range counts.Strangers {
			if n != before[v] {
				return v
			}
		}
		t.Fatal("the harness counted no verdict")
		return exclusion.Unchecked
	}

	// Sweep over an "existing index" holding every probe, keyed by index.
	pairs := func(yield func(int, embed.Descriptor) bool) {
		for i, p := range probes {
			if !yield(i, p.d) {
				return
			}
		}
	}
	purge, err := exclusion.Sweep(ctx, f, exclusion.SweepSelect{}, iter.Seq2[int, embed.Descriptor](pairs))
	if err != nil {
		t.Fatal(err)
	}

	for i, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			d := f.CheckFaces(ctx, []embed.Descriptor{p.d})
			wantVerdict(t, d, p.want)
			if got := slices.Contains(purge, i); got != (p.want != exclusion.Allow) {
				t.Errorf("Sweep lists it: %v, want %v (verdict %v)", got, p.want != exclusion.Allow, p.want)
			}
			kept, rep := f.FilterResults(ctx, []exclusion.Item{{Key: p.name, Faces: []embed.Descriptor{p.d}}})
			if (len(kept) == 1) != (p.want == exclusion.Allow) || rep.Checked != 1 {
				t.Errorf("FilterResults kept %d (report %+v), verdict %v", len(kept), rep, p.want)
			}
			if got := harness(p.d); got != p.want {
				t.Errorf("evaluation harness: %v, want %v", got, p.want)
			}
		})
	}
}

func cloneCounts(m map[exclusion.Verdict]int) map[exclusion.Verdict]int {
	out := map[exclusion.Verdict]int{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Every Unchecked decision says why (Decision.Err), also when a single face
// cannot be judged.
func TestUncheckedFaceHasErr(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	mustApprove(t, reg, mustSubmit(t, reg, faceSubmission(photo(person(1)))).ID)
	f := newFilter(t, reg, emb)
	nan := near(2, 0)
	nan[0] = float32(math.NaN())
	inf := near(2, 0)
	inf[7] = float32(math.Inf(-1))
	for _, tc := range []struct {
		name  string
		faces []embed.Descriptor
	}{
		{"NaN", []embed.Descriptor{nan}},
		{"infinite", []embed.Descriptor{near(3, 0), inf}},
		{"too short", []embed.Descriptor{near(2, 0)[:64]}},
		{"empty descriptor", []embed.Descriptor{{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := f.CheckFaces(ctx, tc.faces)
			wantVerdict(t, d, exclusion.Unchecked)
			if !errors.Is(d.Err, exclusion.ErrDescriptor) || !errors.Is(d.Err, exclusion.ErrUnchecked) {
				t.Errorf("Err %v, want ErrDescriptor and ErrUnchecked", d.Err)
			}
			last := d.Faces[len(d.Faces)-1]
			if last.Verdict != exclusion.Unchecked || last.Err == nil {
				t.Errorf("face check %+v, want Unchecked with Err", last)
			}
			c := f.Check(ctx, exclusion.Item{Faces: tc.faces})
			wantVerdict(t, c, exclusion.Unchecked)
		})
	}
}

// The Decider alone: candidates come from the gallery, not suspended, and
// a bad gallery entry is refused.
func TestDeciderGallery(t *testing.T) {
	g, err := exclusion.NewGallery(len(near(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := g.Add(
		exclusion.EnrolledFace{ID: 1, RequestID: "a", Descriptor: near(1, 0)},
		exclusion.EnrolledFace{ID: 2, RequestID: "b", Descriptor: near(2, 0), SuspendedUntil: now.Add(time.Hour)},
	); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []exclusion.EnrolledFace{
		{ID: 1, RequestID: "c", Descriptor: near(3, 0)},
		{ID: 3, RequestID: "c", Descriptor: near(3, 0)[:3]},
		{ID: 4, RequestID: "c", Descriptor: near(3, 0), Threshold: -1},
	} {
		if err := g.Add(bad); err == nil {
			t.Errorf("Add(%+v) accepted", bad)
		}
	}
	if g.Len() != 2 {
		t.Fatalf("Len %d, want 2", g.Len())
	}
	dec, err := exclusion.NewDecider(nil, exclusion.WeakFaceRule{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		d    embed.Descriptor
		at   time.Time
		want exclusion.Verdict
	}{
		{"enrolled", near(1, 0.3), now, exclusion.Block},
		{"suspended", near(2, 0), now, exclusion.Allow},
		{"suspension over", near(2, 0), now.Add(time.Hour), exclusion.Block},
		{"stranger", near(5, 0), now, exclusion.Allow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if fc := dec.Decide(g, tc.d, nil, tc.at); fc.Verdict != tc.want || fc.Err != nil {
				t.Errorf("Decide = %+v, want %v", fc, tc.want)
			}
		})
	}
	if _, err := exclusion.NewDecider(&exclusion.ThresholdPolicy{}, exclusion.WeakFaceRule{}); !errors.Is(err, exclusion.ErrPolicy) {
		t.Errorf("NewDecider with a zero radius: %v, want ErrPolicy", err)
	}
}

// Hostile descriptors never panic the Decider, and every Unchecked answer
// says why.
func FuzzDecide(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add(make([]byte, 4*128), uint8(1))
	f.Add([]byte{0, 0, 0xc0, 0x7f, 1, 2, 3, 4}, uint8(2)) // a NaN
	g, err := exclusion.NewGallery(128)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 4 {
		d := exclusiontest.Descriptor(exclusiontest.Person(i))
		if err := g.Add(exclusion.EnrolledFace{ID: uint64(i + 1), RequestID: fmt.Sprint(i % 2), Descriptor: d, Quality: weakQuality, Threshold: 0.1 * float64(i)}); err != nil {
			f.Fatal(err)
		}
	}
	dec, err := exclusion.NewDecider(nil, exclusion.WeakFaceRule{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte, q uint8) {
		d := make(embed.Descriptor, len(raw)/4)
		for i := range d {
			d[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		qual := &embed.Quality{Score: float64(q) / 64, Pose: "left"}
		fc := dec.Decide(g, d, qual, time.Time{})
		switch fc.Verdict {
		case exclusion.Allow, exclusion.Block, exclusion.Review:
			if fc.Err != nil {
				t.Fatalf("%v with Err %v", fc.Verdict, fc.Err)
			}
		case exclusion.Unchecked:
			if fc.Err == nil {
				t.Fatal("Unchecked without Err")
			}
		default:
			t.Fatalf("verdict %v", fc.Verdict)
		}
	})
}
