package embed

import (
	"testing"

	"github.com/faceoptout/faceoptout/imageutil"
)

// TestZeroMeansDefault checks the Config idiom: every zero field takes
// DefaultDlibConfig's value; ModelsDir stays required.
func TestZeroMeansDefault(t *testing.T) {
	d := DefaultDlibConfig()
	for _, tc := range []struct {
		name string
		cfg  DlibConfig
		want DlibConfig
	}{
		{"zero fields take the defaults", DlibConfig{ModelsDir: d.ModelsDir}, d},
		{"set fields stay", DlibConfig{ModelsDir: "m", Detector: CNN, MinFaceSize: 40, MaxUpsamplePixels: 1, Workers: 3,
			MaxFaces: 2, MaxPixels: 100, Padding: 0.1, NoCropRetry: true, ChipPadding: 0.3, DecodeLimits: imageutil.Limits{MaxBytes: 5}},
			DlibConfig{ModelsDir: "m", Detector: CNN, MinFaceSize: 40, MaxUpsamplePixels: 1, Workers: 3,
				MaxFaces: 2, MaxPixels: 100, Padding: 0.1, NoCropRetry: true, ChipPadding: 0.3,
				DecodeLimits: imageutil.Limits{MaxBytes: 5}.WithDefaults()}},
		{"the default is its own default", d, d},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			if err := c.validate(); err != nil {
				t.Fatal(err)
			}
			if c != tc.want {
				t.Errorf("validated config\n%+v\nwant\n%+v", c, tc.want)
			}
		})
	}
	var c DlibConfig
	if err := c.validate(); err == nil {
		t.Errorf("a config without ModelsDir validated")
	}
}
