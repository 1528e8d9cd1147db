package embed_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/imageutil"
)

// Describe the largest face of a photo. (Not run by go test: it needs the
// models; TestIdols and TestBBTCrops run the same calls.)
func ExampleNewDlib() {
	cfg := embed.DefaultDlibConfig() // models in ./models (the library reads no environment variable)
	cfg.MinFaceSize = 120            // faces smaller than 120 px may be missed; much faster on large photos
	d, err := embed.NewDlib(cfg)
	if err != nil {
		log.Fatal(err) // errors.Is(err, embed.ErrNoModels): run ./scripts/fetch-models.sh
	}
	defer d.Close()

	f, err := os.Open("photo.jpg")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	img, err := imageutil.Decode(f)
	if err != nil {
		log.Fatal(err)
	}
	faces, err := d.Faces(context.Background(), img.RGB)
	if err != nil {
		log.Fatal(err)
	}
	face, err := embed.Largest(faces)
	if err != nil {
		log.Fatal(err) // embed.ErrNoFace
	}
	fmt.Println(face.Box, face.Quality.Size, face.Descriptor[:4])
}

func ExampleDescriptor_Distance() {
	a := embed.Descriptor{0.3, 0.4}
	b := embed.Descriptor{-0.3, -0.4}
	fmt.Printf("%.1f\n", a.Distance(b))
	// Output: 1.0
}
