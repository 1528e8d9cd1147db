package faceoptout_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
)

// Example_library is a whole program that uses the library: it enrols
// one face opt-out from testdata/, approves it, and checks two other
// photos: the same person's is blocked, a stranger's is allowed.
func Example_library() {
	ctx := context.Background()
	cfg := embed.DefaultDlibConfig()
	cfg.ModelsDir = modelsDir // where scripts/fetch-models.sh put the dlib models
	emb, err := embed.NewDlib(cfg)
	if err != nil {
		panic(err)
	}
	defer emb.Close()
	dir, _ := os.MkdirTemp("", "faceoptout-")
	defer os.RemoveAll(dir)
	st, err := boltstore.Create(filepath.Join(dir, "registry.db"), boltstore.Config{})
	if err != nil {
		panic(err)
	}
	reg, err := exclusion.Create(ctx, st, emb, exclusion.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	photo, _ := os.ReadFile("testdata/bbt/penny/penny1.png")
	req, err := reg.Submit(ctx, &exclusion.Submission{
		Kind: exclusion.FaceOptOut, Country: "US", Reason: "Keep my face out of face search.",
		Name: "Penny", Email: "penny@example.org", Phone: "+15551230000",
		Photos: []exclusion.Photo{{Data: photo}},
	}, "intake")
	if err != nil {
		panic(err)
	}
	if _, err := reg.Approve(ctx, req.ID, "reviewer@example.org", "identity checked"); err != nil {
		panic(err)
	}

	f, err := exclusion.NewFilter(reg, emb, exclusion.DefaultFilterConfig())
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"penny/penny2.png", "howard/howard1.png"} {
		crawled, _ := os.ReadFile("testdata/bbt/" + name)
		d := f.CheckImageBytes(ctx, crawled)
		fmt.Printf("%s: %s, may index: %v\n", name, d.Verdict, d.Verdict.MayIndex())
	}
	// Output:
	// penny/penny2.png: block, may index: false
	// howard/howard1.png: allow, may index: true
}
