package exclusion_test

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

// The whole loop with fakes: a person submits a face opt-out, a reviewer
// approves it, and the Filter blocks another photo of that face.
func Example() {
	ctx := context.Background()
	emb := &exclusiontest.Embedder{} // a fake: coloured squares are faces
	reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), emb, exclusion.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close()

	jane := exclusiontest.Person(1)
	selfie := exclusiontest.PNG(exclusiontest.Image(200, 200, exclusiontest.Face{Box: image.Rect(40, 40, 160, 160), Color: jane}))
	req, err := reg.Submit(ctx, &exclusion.Submission{
		Kind: exclusion.FaceOptOut, Country: "DE", Reason: "Please forget my face.",
		Name: "Jane Doe", Email: "jane@example.org", Phone: "+4915123456789",
		Photos: []exclusion.Photo{{Data: selfie}},
	}, "intake-form")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("submitted:", req.Status, len(req.EnrolledFaces()), "face")

	f, err := exclusion.NewFilter(reg, emb, exclusion.DefaultFilterConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	crawled := exclusiontest.PNG(exclusiontest.Image(400, 300, exclusiontest.Face{Box: image.Rect(200, 100, 300, 200), Color: jane}))
	fmt.Println("while pending:", f.CheckImageBytes(ctx, crawled).Verdict)

	if _, err := reg.Approve(ctx, req.ID, "reviewer@example.com", "identity checked"); err != nil {
		fmt.Println(err)
		return
	}
	d := f.CheckImageBytes(ctx, crawled)
	fmt.Println("once approved:", d.Verdict, d.Faces[0].Box, d.RequestIDs[0] == req.ID)

	if _, err := reg.Withdraw(ctx, req.ID, "jane@example.org", ""); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after withdrawal:", f.CheckImageBytes(ctx, crawled).Verdict)
	// Output:
	// submitted: pending 1 face
	// while pending: allow
	// once approved: block (200,100)-(300,200) true
	// after withdrawal: allow
}

// A bad submission names every bad field, and nothing is stored.
func ExampleValidate() {
	err := exclusion.Validate(&exclusion.Submission{
		Kind: exclusion.ImageRemoval, Country: "XX", Reason: "DSA notice", Name: "Jean",
		Email: "jean(at)example.fr", Phone: "06 12 34 56 78",
		URLs: []string{"https://example.fr/ok.jpg", "ftp://example.fr/x.jpg"},
	})
	var ve *exclusion.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Println(p.Field)
		}
	}
	fmt.Println(errors.Is(err, exclusion.ErrInvalidRequest))
	// Output:
	// country
	// email
	// phone
	// urls[1]
	// true
}

func ExampleNormalizeURL() {
	u, _ := exclusion.NormalizeURL("HTTPS://Photos.Example.COM.:443/Album/IMG_01.JPG?Size=L#comments")
	fmt.Println(u)
	// Output: https://photos.example.com/Album/IMG_01.JPG?Size=L
}

// A search service drops every result that is not Allow.
func ExampleFilter_FilterResults() {
	ctx := context.Background()
	emb := &exclusiontest.Embedder{}
	reg, _ := exclusion.Create(ctx, exclusiontest.NewMemStore(), emb, exclusion.DefaultConfig())
	defer reg.Close()
	req, _ := reg.Submit(ctx, &exclusion.Submission{
		Kind: exclusion.ImageRemoval, Country: "FR", Reason: "DSA notice", Name: "Jean",
		Email: "jean@example.fr", Phone: "+33612345678", URLs: []string{"https://example.fr/removed.jpg"},
	}, "intake-form")
	reg.Approve(ctx, req.ID, "reviewer", "")
	f, _ := exclusion.NewFilter(reg, emb, exclusion.DefaultFilterConfig())

	kept, rep := f.FilterResults(ctx, []exclusion.Item{
		{Key: "1", URL: "https://example.fr/removed.jpg", Faces: []embed.Descriptor{}},
		{Key: "2", URL: "https://example.fr/other.jpg", Faces: []embed.Descriptor{}},
		{Key: "3", URL: "https://example.fr/unknown-faces.jpg"},
	})
	fmt.Println(len(kept), kept[0].Key, rep.Blocked, rep.Unchecked)
	// Output: 1 2 1 1
}
