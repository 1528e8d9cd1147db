package embed_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

func TestExplore(t *testing.T) {
	img := decodeFile(t, facesPath(t, "bbt", "stuart", "stuart5.png"))
	for _, mf := range []int{80, 60, 40} {
		for _, pad := range []float64{0, 0.25} {
			for _, adj := range []float64{0, -0.3, -0.5} {
				cfg := embed.DefaultDlibConfig()
				cfg.ModelsDir = testenv.Models(t)
				cfg.Padding = pad
				cfg.MinFaceSize = mf
				cfg.AdjustThreshold = adj
				cfg.Workers = 1
				d, err := embed.NewDlib(cfg)
				if err != nil {
					t.Fatal(err)
				}
				faces, st, err := d.FacesWithStats(context.Background(), img)
				fmt.Println(mf, pad, adj, len(faces), st.Scanned, err)
				for _, f := range faces {
					fmt.Println("  ", f.Box, f.Quality)
				}
				d.Close()
			}
		}
	}
}
