package exclusion_test

import (
	"context"
	"fmt"
	"image"
	"strings"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// A look-alike is reported as a false positive: a reviewer suspends the
// opt-out for a day while looking into it, without deleting anything; the
// face stops blocking at once, and blocks again when resumed (or when the
// day is over).
func ExampleRegistry_Suspend() {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg := exclusion.DefaultConfig()
	cfg.Now = func() time.Time { return now }
	emb := &exclusiontest.Embedder{}
	reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), emb, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close()
	face := exclusiontest.Face{Box: image.Rect(40, 40, 160, 160), Color: exclusiontest.Person(1)}
	req, err := reg.Submit(ctx, &exclusion.Submission{
		Kind: exclusion.FaceOptOut, Country: "DE", Reason: "Please forget my face.",
		Name: "Jane Doe", Email: "jane@example.org", Phone: "+4915123456789",
		Photos: []exclusion.Photo{{Data: exclusiontest.PNG(exclusiontest.Image(200, 200, face))}},
	}, "intake-form")
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := reg.Approve(ctx, req.ID, "reviewer", ""); err != nil {
		fmt.Println(err)
		return
	}
	f, err := exclusion.NewFilter(reg, emb, exclusion.DefaultFilterConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	lookAlike := []embed.Descriptor{exclusiontest.Descriptor(face.Color)}
	fmt.Println("approved:", f.CheckFaces(ctx, lookAlike).Verdict)

	if _, err := reg.Suspend(ctx, req.ID, now.Add(24*time.Hour), "reviewer", "ticket 42: reported look-alike"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("suspended:", f.CheckFaces(ctx, lookAlike).Verdict)
	now = now.Add(25 * time.Hour)
	fmt.Println("a day later:", f.CheckFaces(ctx, lookAlike).Verdict)
	now = now.Add(-25 * time.Hour)
	if _, err := reg.Resume(ctx, req.ID, "reviewer", "ticket 42: the same person after all"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("resumed:", f.CheckFaces(ctx, lookAlike).Verdict)
	for ev, err := range reg.Audit(ctx, req.ID) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(strings.TrimSpace(string(ev.Action) + " " + ev.Note))
	}
	// Output:
	// approved: block
	// suspended: allow
	// a day later: block
	// resumed: block
	// submit
	// approve
	// suspend until 2026-03-02T12:00:00Z: ticket 42: reported look-alike
	// resume ticket 42: the same person after all
}
