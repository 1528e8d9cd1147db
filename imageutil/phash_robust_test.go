package imageutil

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// sharedPhotos decodes every image of ../shared/faces: idols/*.jpg,
// bbt/*/*.png and bbt/*.jpg. Under the race detector, where decoding the 34
// idols photos (up to 10 megapixels each) alone takes minutes, it leaves
// them out and says so.
func sharedPhotos(t testing.TB) (names []string, imgs []*image.NRGBA) {
	t.Helper()
	dir := testenv.Faces(t)
	patterns := []string{"idols/*.jpg", "bbt/*/*.png", "bbt/*.jpg"}
	if raceEnabled {
		t.Log("race detector on: idols/*.jpg left out; run without -race for the full table")
		patterns = patterns[1:]
	}
	var paths []string
	for _, pat := range patterns {
		p, err := filepath.Glob(filepath.Join(dir, pat))
		noError(t, err)
		if len(p) == 0 {
			t.Fatalf("no files match %s in %s", pat, dir)
		}
		paths = append(paths, p...)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		noError(t, err)
		m, err := DecodeBytes(data)
		noError(t, err, p)
		rel, _ := filepath.Rel(dir, p)
		names = append(names, rel)
		imgs = append(imgs, m.RGB)
	}
	return names, imgs
}

// textOverlay draws a small label in the bottom-right corner: a white box
// of 16 % x 5 % of the image (at least 24x8 pixels) holding black
// glyph-like strokes of varying heights on a baseline, as a caption or
// watermark would.
func textOverlay(m *image.NRGBA) *image.NRGBA {
	out := imaging.Clone(m)
	w, h := out.Rect.Dx(), out.Rect.Dy()
	bw, bh := max(w*16/100, 24), max(h*5/100, 8)
	x0, y0 := w-bw-w/40, h-bh-h/40
	box := image.Rect(x0, y0, x0+bw, y0+bh)
	draw.Draw(out, box, image.NewUniform(color.White), image.Point{}, draw.Src)
	ink := image.NewUniform(color.Black)
	s := max(bh/8, 1) // stroke width
	draw.Draw(out, image.Rect(x0+s, y0+bh-2*s, x0+bw-s, y0+bh-s), ink, image.Point{}, draw.Src)
	for i, x := 0, x0+2*s; x+s < x0+bw-s; i, x = i+1, x+3*s {
		top := y0 + s + (i*5%4)*s
		draw.Draw(out, image.Rect(x, top, x+s, y0+bh-s), ink, image.Point{}, draw.Src)
	}
	return out
}

// cropEdges removes frac of the width and height: split between opposite
// edges when centred, from the right and bottom edges otherwise.
func cropEdges(m *image.NRGBA, frac float64, centred bool) *image.NRGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	dx, dy := int(float64(w)*frac+0.5), int(float64(h)*frac+0.5)
	if !centred {
		return imaging.Crop(m, image.Rect(0, 0, w-dx, h-dy))
	}
	return imaging.Crop(m, image.Rect(dx/2, dy/2, w-(dx-dx/2), h-(dy-dy/2)))
}

func reencodeJPEG(t testing.TB, m image.Image, q int) *image.NRGBA {
	t.Helper()
	var b bytes.Buffer
	noError(t, jpeg.Encode(&b, m, &jpeg.Options{Quality: q}))
	d, err := DecodeBytes(b.Bytes())
	noError(t, err)
	return d.RGB
}

// TestPHashRobustness measures PHash on every shared photo: the distance
// between each photo and edited copies of it (which must match), and between
// every pair of different photos (which must not). The edits are applied to
// a working copy of at most 512 pixels a side; the copy's hash is the
// reference. Distances are always even: every hash has 31 bits set.
//
// Measured (go test -run TestPHashRobustness -v ./imageutil/), 79 photos,
// 3081 unrelated pairs:
//
//	resize 50 %             max  6
//	JPEG quality 60         max  2
//	crop 5 % (2.5 %/edge)   max 10 (p95 8)
//	text overlay            max  2
//	unrelated photos        min 12 (p1 16, median 30)
//
// so DefaultMatchDistance 10 separates them, with no spare bit: a 5 % crop
// of a 150x150 face crop reaches it, and face crops of different people
// come within 12. Reported but not required: a 5 % crop from one side only
// moves the hash by up to 20 bits and a 10 % crop by up to 18, beyond
// DefaultMatchDistance.
func TestPHashRobustness(t *testing.T) {
	const workSide = 512
	names, full := sharedPhotos(t)
	work := make([]*image.NRGBA, len(full))
	ref := make([]Hash, len(full))
	for i, m := range full {
		work[i] = Fit(m, workSide)
		ref[i] = PHash(work[i])
	}
	edits := []struct {
		name     string
		required bool // must stay within DefaultMatchDistance
		edit     func(i int) image.Image
	}{
		{"resize 50 %", true, func(i int) image.Image { return Scale(work[i], 0.5) }},
		{"JPEG quality 60", true, func(i int) image.Image { return reencodeJPEG(t, work[i], 60) }},
		{"crop 5 % (2.5 %/edge)", true, func(i int) image.Image { return cropEdges(work[i], 0.05, true) }},
		{"text overlay", true, func(i int) image.Image { return textOverlay(work[i]) }},
		{"original size vs working copy", false, func(i int) image.Image { return full[i] }},
		{"resize 25 % + JPEG 60", false, func(i int) image.Image { return reencodeJPEG(t, Scale(work[i], 0.25), 60) }},
		{"crop 5 % one side", false, func(i int) image.Image { return cropEdges(work[i], 0.05, false) }},
		{"crop 10 % (5 %/edge)", false, func(i int) image.Image { return cropEdges(work[i], 0.10, true) }},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-28s %8s %4s %4s %5s  %s\n", "edit (same photo)", "required", "max", "p95", "mean", "worst photo")
	maxWithin := 0
	for _, e := range edits {
		ds := make([]int, len(work))
		worst := 0
		sum := 0
		for i := range work {
			ds[i] = ref[i].Distance(PHash(e.edit(i)))
			sum += ds[i]
			if ds[i] > ds[worst] {
				worst = i
			}
		}
		sorted := slices.Sorted(slices.Values(ds))
		mx := sorted[len(sorted)-1]
		fmt.Fprintf(&table, "%-28s %8v %4d %4d %5.1f  %s\n", e.name, e.required, mx, sorted[len(sorted)*95/100], float64(sum)/float64(len(ds)), names[worst])
		if e.required {
			maxWithin = max(maxWithin, mx)
			if mx > DefaultMatchDistance {
				t.Errorf("%s: %s moved the hash by %d bits, more than DefaultMatchDistance %d", e.name, names[worst], mx, DefaultMatchDistance)
			}
		}
	}
	var between []int
	minI, minJ := 0, 1
	for i := range ref {
		for j := i + 1; j < len(ref); j++ {
			d := ref[i].Distance(ref[j])
			between = append(between, d)
			if d < ref[minI].Distance(ref[minJ]) {
				minI, minJ = i, j
			}
		}
	}
	slices.Sort(between)
	minBetween := between[0]
	fmt.Fprintf(&table, "%-28s %8s %4s min %d, p1 %d, p5 %d, median %d over %d pairs; closest %s ~ %s\n",
		"unrelated photos", "", "", minBetween, between[len(between)/100], between[len(between)/20], between[len(between)/2],
		len(between), names[minI], names[minJ])
	fmt.Fprintf(&table, "DefaultMatchDistance %d: required edits max %d <= %d < %d unrelated min\n",
		DefaultMatchDistance, maxWithin, DefaultMatchDistance, minBetween)
	t.Log(table.String())
	if minBetween <= DefaultMatchDistance {
		t.Errorf("unrelated photos %s and %s are %d bits apart, within DefaultMatchDistance %d",
			names[minI], names[minJ], minBetween, DefaultMatchDistance)
	}
}
