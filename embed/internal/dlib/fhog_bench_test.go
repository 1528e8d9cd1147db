package dlib_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/embed/internal/dlib"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// BenchmarkFHOG times the FHOG features of a faces/idols photo with the
// AVX2 build's fhog.h and with dlib's extract_fhog_features compiled
// beside it (whose gradient is fhog_grad.h's too, see TestFHOGMatchesDlib):
//
//	go test -run '^$' -bench FHOG -count 5 ./embed/internal/dlib/
func BenchmarkFHOG(b *testing.B) {
	if !dlib.HaveAVX2() {
		b.Skip("CPU without AVX2+FMA: the AVX2 features are not used")
	}
	files, _ := filepath.Glob(filepath.Join(testenv.Faces(b), "idols", "*.jpg"))
	if len(files) == 0 {
		b.Fatal("no faces/idols photo")
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		b.Fatal(err)
	}
	pix, w, h, err := dlib.DecodeJPEG(data, testOpts)
	if err != nil {
		b.Fatal(err)
	}
	for _, impl := range []struct {
		name string
		dlib bool
	}{{"fhog.h", false}, {"dlib", true}} {
		b.Run(impl.name, func(b *testing.B) {
			for b.Loop() {
				if err := dlib.FHOG(pix, w, h, impl.dlib, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(w*h), "ns/pixel")
		})
	}
}
