package exclusion_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"image"
	"image/color"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

func ExampleEncryptionConfig() {
	ctx := context.Background()
	// A program reads the operator key from a file or the environment.
	key := make([]byte, exclusion.KeySize)
	rand.Read(key)
	store := exclusiontest.NewMemStore()
	cfg := exclusion.DefaultConfig()
	cfg.Encryption = exclusion.EncryptionConfig{
		Key:     key,
		Keyring: exclusiontest.NewKeyring(), // keyfile.Create/Open beside the store in production
	}
	reg, err := exclusion.Create(ctx, store, nil, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close()
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	img.Set(10, 10, color.NRGBA{R: 200, A: 255})
	req, err := reg.Submit(ctx, &exclusion.Submission{
		Kind: exclusion.ImageRemoval, Country: "FR", Reason: "DSA notice: this image is mine.",
		Name: "Jean Dupont", Email: "jean@example.fr", Phone: "+33612345678",
		URLs:   []string{"https://example.org/a.jpg"},
		Photos: []exclusion.Photo{{Data: exclusiontest.PNG(img)}},
	}, "intake")
	if err != nil {
		fmt.Println(err)
		return
	}
	stored, _ := store.Get(ctx, req.ID) // as the store holds it
	fmt.Println("registry sees the hash:", len(req.Photos[0].SHA256) == 64)
	fmt.Println("store holds it sealed:", stored.Photos[0].SHA256 == "" && len(stored.Sealed) > 0)
	// Output:
	// registry sees the hash: true
	// store holds it sealed: true
}

func ExampleRegistry_VerifyAudit() {
	ctx := context.Background()
	reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), nil, exclusion.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close()
	req, err := reg.Submit(ctx, &exclusion.Submission{
		Kind: exclusion.ImageRemoval, Country: "FR", Reason: "DSA notice: this image is mine.",
		Name: "Jean Dupont", Email: "jean@example.fr", Phone: "+33612345678",
		URLs: []string{"https://example.org/a.jpg"},
	}, "intake")
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := reg.Approve(ctx, req.ID, "reviewer", ""); err != nil {
		fmt.Println(err)
		return
	}
	head, err := reg.VerifyAudit(ctx)
	fmt.Println(head.Events, head.Seq, len(head.Hash), err)
	// Output: 2 2 64 <nil>
}
