package isolate_test

import (
	"context"
	"errors"
	"image"
	"image/color"
	"testing"

	"github.com/faceoptout/faceoptout/embed/isolate"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// A Filter over a Pool checks encoded images through FacesBytesWith: the
// worker decodes.
var _ exclusion.BytesEmbedder = (*isolate.Pool)(nil)

// TestFilterWithCrashingWorker runs the exclusion Filter on a Pool: an
// enrolled face is blocked, a stranger allowed, and an image whose worker
// segfaults, exits or hangs answers Unchecked (the error wrapping
// ErrCrashed or ErrTimeout) while the caller carries on with the next image.
func TestFilterWithCrashingWorker(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, testConfig("ok"))
	reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), p, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	req, err := reg.Submit(ctx, &exclusion.Submission{
		Kind: exclusion.FaceOptOut, Country: "NL", Reason: "r", Name: "Kim", Email: "kim@example.nl",
		Phone: "+31612345678", Photos: []exclusion.Photo{{Data: exclusiontest.PNG(bigFace(1, color.NRGBA{}))}},
	}, "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Approve(ctx, req.ID, "t", ""); err != nil {
		t.Fatal(err)
	}
	f, err := exclusion.NewFilter(reg, p, exclusion.DefaultFilterConfig())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		person  int
		trigger color.NRGBA
		want    exclusion.Verdict
		err     error
	}{
		{"enrolled face", 1, color.NRGBA{}, exclusion.Block, nil},
		{"stranger", 7, color.NRGBA{}, exclusion.Allow, nil},
		{"worker segfaults", 1, triggerSegfault, exclusion.Unchecked, isolate.ErrCrashed},
		{"enrolled face after the crash", 1, color.NRGBA{}, exclusion.Block, nil},
		{"worker exits", 7, triggerExit, exclusion.Unchecked, isolate.ErrCrashed},
		{"worker hangs", 7, triggerHang, exclusion.Unchecked, isolate.ErrTimeout},
		{"stranger after the hang", 7, color.NRGBA{}, exclusion.Allow, nil},
	}
	for _, tt := range tests {
		d := f.CheckImageBytes(ctx, exclusiontest.PNG(bigFace(tt.person, tt.trigger)))
		if d.Verdict != tt.want {
			t.Fatalf("%s: verdict %v (%v), want %v", tt.name, d.Verdict, d.Err, tt.want)
		}
		if tt.err != nil && !errors.Is(d.Err, tt.err) {
			t.Fatalf("%s: error %v, want %v", tt.name, d.Err, tt.err)
		}
	}
}

// bigFace is faceImage at 200x200 with a 160-pixel face, large enough to
// enrol.
func bigFace(i int, trigger color.NRGBA) *image.NRGBA {
	m := exclusiontest.Image(200, 200, exclusiontest.Face{Box: image.Rect(20, 20, 180, 180), Color: exclusiontest.Person(i)})
	if trigger != (color.NRGBA{}) {
		m.SetNRGBA(0, 0, trigger)
	}
	return m
}
