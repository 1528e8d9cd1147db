package embed_test

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
)

// idolImages decodes the idols photos into *image.NRGBA, the layout
// imageutil.Decode returns.
func idolImages(b *testing.B) []*image.NRGBA {
	files, err := filepath.Glob(facesPath(b, "idols", "*.jpg"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no idols photos: %v", err)
	}
	sort.Strings(files)
	imgs := make([]*image.NRGBA, len(files))
	for i, f := range files {
		imgs[i] = decodeFile(b, f)
	}
	return imgs
}

// BenchmarkFaces measures photos/s over the 34 idols photos (decoded
// beforehand) by MinFaceSize, with one worker per CPU; "full-size" is the
// HOG at scale 1 (what go-face computes) and "face-recognition" emulates
// face_recognition's default (one upsampling at full size).
//
//	go test -run '^$' -bench Faces -benchtime 1x ./embed/
func BenchmarkFaces(b *testing.B) {
	dir := modelsForBench(b)
	imgs := idolImages(b)
	type variant struct {
		name string
		edit func(*embed.DlibConfig)
	}
	variants := []variant{
		{"full-size", func(c *embed.DlibConfig) { c.MinFaceSize, c.NoCropRetry = 80, true }},
		{"face-recognition", func(c *embed.DlibConfig) { c.MinFaceSize, c.MaxUpsamplePixels, c.NoCropRetry = 40, 1<<30, true }}, // no practical upsampling bound, as face_recognition
	}
	for _, s := range []int{40, 80, 120, 160} {
		variants = append(variants, variant{fmt.Sprintf("minface=%d", s), func(c *embed.DlibConfig) { c.MinFaceSize = s }})
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			cfg := embed.DefaultDlibConfig()
			cfg.ModelsDir = dir
			v.edit(&cfg)
			d, err := embed.NewDlib(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			faces := 0
			for b.Loop() {
				faces = 0
				var mu sync.Mutex // guards faces
				var wg sync.WaitGroup
				next := make(chan *image.NRGBA)
				for range cfg.Workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for m := range next {
							f, err := d.Faces(context.Background(), m)
							if err != nil {
								b.Error(err)
							}
							mu.Lock()
							faces += len(f)
							mu.Unlock()
						}
					}()
				}
				for _, m := range imgs {
					next <- m
				}
				close(next)
				wg.Wait()
			}
			b.ReportMetric(float64(len(imgs)*b.N)/b.Elapsed().Seconds(), "photos/s")
			b.ReportMetric(float64(faces), "faces")
		})
	}
}

// BenchmarkFacesBytes measures photos/s over the 34 idols photos from
// their JPEG bytes (decoding included, as the CLI's bench embed does) by
// MinFaceSize, one worker per CPU.
//
//	go test -run '^$' -bench FacesBytes -benchtime 3x ./embed/
func BenchmarkFacesBytes(b *testing.B) {
	dir := modelsForBench(b)
	files, err := filepath.Glob(facesPath(b, "idols", "*.jpg"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no idols photos: %v", err)
	}
	sort.Strings(files)
	data := make([][]byte, len(files))
	for i, f := range files {
		if data[i], err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
	}
	for _, s := range []int{80, 120, 160} {
		b.Run(fmt.Sprintf("minface=%d", s), func(b *testing.B) {
			cfg := embed.DefaultDlibConfig()
			cfg.ModelsDir, cfg.MinFaceSize = dir, s
			d, err := embed.NewDlib(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			var faces atomic.Int64
			for b.Loop() {
				faces.Store(0)
				var wg sync.WaitGroup
				next := make(chan []byte)
				for range cfg.Workers {
					wg.Go(func() {
						for m := range next {
							f, err := d.FacesBytes(context.Background(), m)
							if err != nil {
								b.Error(err)
							}
							faces.Add(int64(len(f)))
						}
					})
				}
				for _, m := range data {
					next <- m
				}
				close(next)
				wg.Wait()
			}
			b.ReportMetric(float64(len(data)*b.N)/b.Elapsed().Seconds(), "photos/s")
			b.ReportMetric(float64(faces.Load()), "faces")
		})
	}
}

// BenchmarkDescribeCrop measures one 150x150 face crop, end to end.
func BenchmarkDescribeCrop(b *testing.B) {
	modelsForBench(b)
	d := newDlib(b, 80)
	img := decodeFile(b, facesPath(b, "bbt", "amy", "amy1.png"))
	for b.Loop() {
		if _, err := d.Faces(context.Background(), img); err != nil {
			b.Fatal(err)
		}
	}
}
