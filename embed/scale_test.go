package embed_test

import (
	"context"
	"image"
	"math"
	"testing"
)

// TestScanScale checks the scale each MinFaceSize scans a 1200x900 image
// at: downscales snap to the HOG pyramid's grid, (5/6)^k, reached by k
// steps of the pyramid (so the scanned size is the pyramid's level size);
// MinFaceSize 80 scans at full size; 40 upsamples within
// MaxUpsamplePixels (4 megapixels).
func TestScanScale(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 1200, 900))
	tests := []struct {
		minFaceSize int
		scale       float64
		minFace     int
		scanned     image.Point
	}{
		{40, math.Sqrt(4e6 / (1200 * 900.0)), 42, image.Pt(2309, 1732)},
		{80, 1, 80, image.Pt(1200, 900)},
		{90, 1, 80, image.Pt(1200, 900)},
		{96, 5.0 / 6, 96, image.Pt(1000, 750)},
		{120, 25.0 / 36, 116, image.Pt(833, 625)},
		{160, 125.0 / 216, 139, image.Pt(694, 520)},
		{200, math.Pow(5.0/6, 5), 200, image.Pt(481, 360)},
	}
	for _, tt := range tests {
		_, st, err := newDlib(t, tt.minFaceSize).FacesWithStats(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(st.Scale-tt.scale) > 1e-9 || st.MinFace != tt.minFace || st.Scanned != tt.scanned {
			t.Errorf("MinFaceSize %d: scale %v, min face %d, scanned %v; want %v, %d, %v",
				tt.minFaceSize, st.Scale, st.MinFace, st.Scanned, tt.scale, tt.minFace, tt.scanned)
		}
	}
}
