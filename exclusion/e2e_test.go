package exclusion_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

var (
	dlibOnce sync.Once
	dlibEmb  *embed.Dlib
	dlibErr  error
)

// realEmbedder returns one shared dlib embedder for the package's tests, or
// skips (fails under CI) without models.
func realEmbedder(t *testing.T) *embed.Dlib {
	t.Helper()
	dir := testenv.Models(t)
	dlibOnce.Do(func() {
		cfg := embed.DefaultDlibConfig()
		cfg.ModelsDir = dir
		cfg.Workers = 2
		dlibEmb, dlibErr = embed.NewDlib(cfg)
	})
	if dlibErr != nil {
		t.Fatal(dlibErr)
	}
	return dlibEmb
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// exifJPEG returns a JPEG whose pixels are img turned 90° counter-clockwise,
// with EXIF orientation 6 (turn 90° clockwise to display): a viewer shows
// img upright.
func exifJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	j := jpegOf(t, imaging.Rotate90(img), 92)
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08" + // big-endian TIFF header, IFD at 8
		"\x00\x01" + // one entry
		"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00" + // Orientation SHORT 1 = 6
		"\x00\x00\x00\x00") // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, j[:2]...) // SOI
	out = append(out, seg...)
	return append(out, j[2:]...)
}

func grayPNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
	return encodePNG(t, g)
}

// TestEndToEnd enrols one photo each of three faces/bbt people with the real
// dlib models and checks that every other photo of them (and variants) is
// blocked, that nobody else's crop is, and that withdrawal allows them again.
func TestEndToEnd(t *testing.T) {
	emb := realEmbedder(t)
	dir := testenv.BBT(t) // ../shared/faces/bbt, else testdata/bbt
	st, err := boltstore.Create(filepath.Join(t.TempDir(), "registry.db"), boltstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := exclusion.Create(ctx, st, emb, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	fcfg := exclusion.DefaultFilterConfig()
	fcfg.NoTimeout = true // the machine may be busy (-race, shared cores); timeouts have their own test
	f, err := exclusion.NewFilter(reg, emb, fcfg)
	if err != nil {
		t.Fatal(err)
	}

	enrolled := []string{"sheldon", "penny", "leonard"}
	others := []string{"amy", "bernadette", "howard", "raj", "stuart"}
	ids := map[string]string{}
	for _, p := range enrolled {
		s := faceSubmission(readFile(t, filepath.Join(dir, p, p+"1.png")))
		req := mustSubmit(t, reg, s)
		if n := len(req.EnrolledFaces()); n != 1 {
			t.Fatalf("%s1.png: %d faces enrolled, photo %+v", p, n, req.Photos[0])
		}
		mustApprove(t, reg, req.ID)
		ids[p] = req.ID
	}

	type probe struct {
		name string
		data []byte
		want string // the person whose request must match, "" for Allow
	}
	var blocked, allowed []probe
	for _, p := range enrolled {
		for i := 1; i <= 5; i++ {
			name := fmt.Sprintf("%s%d", p, i)
			raw := readFile(t, filepath.Join(dir, p, name+".png"))
			img := decodePNG(t, raw)
			blocked = append(blocked,
				probe{name + ".png", raw, p},
				probe{name + " JPEG", jpegOf(t, img, 85), p},
				probe{name + " gray", grayPNG(t, img), p},
				probe{name + " turned 90", encodePNG(t, imaging.Rotate270(img)), p},
				probe{name + " EXIF 6", exifJPEG(t, img), p},
				probe{name + " 1.5x", encodePNG(t, imaging.Resize(img, 225, 225, imaging.CatmullRom)), p},
				probe{name + " 300x300", encodePNG(t, imaging.Resize(img, 300, 300, imaging.Lanczos)), p},
			)
		}
	}
	// Which group photos show whom: sheldon and leonard are in all five,
	// penny in bbt4 and bbt5 (measured with the embedder; see the log).
	groups := map[string][]string{
		"bbt1.jpg": {"sheldon", "leonard"},
		"bbt2.jpg": {"sheldon", "leonard"},
		"bbt3.jpg": {"sheldon", "leonard"},
		"bbt4.jpg": {"sheldon", "penny", "leonard"},
		"bbt5.jpg": {"sheldon", "penny", "leonard"},
	}
	for g, who := range groups {
		blocked = append(blocked, probe{g, readFile(t, filepath.Join(dir, g)), who[0]})
	}
	for _, p := range others {
		for i := 1; i <= 5; i++ {
			name := fmt.Sprintf("%s%d.png", p, i)
			allowed = append(allowed, probe{name, readFile(t, filepath.Join(dir, p, name)), ""})
		}
	}

	var maxBlocked, minAllowed float64 = 0, 2
	t.Run("blocked", func(t *testing.T) {
		for _, pr := range blocked {
			d := f.CheckImageBytes(ctx, pr.data)
			for _, fc := range d.Faces {
				for _, m := range fc.Matches {
					if m.RequestID == ids[pr.want] {
						maxBlocked = max(maxBlocked, m.Distance)
					}
				}
			}
			if d.Verdict != exclusion.Block {
				t.Errorf("%s: %v (err %v), want block; faces %+v", pr.name, d.Verdict, d.Err, d.Faces)
				continue
			}
			found := false
			for _, id := range d.RequestIDs {
				found = found || id == ids[pr.want]
			}
			if !found {
				t.Errorf("%s: blocked by %v, want %s's request %s", pr.name, d.RequestIDs, pr.want, ids[pr.want])
			}
		}
	})
	t.Run("group photos name everyone enrolled", func(t *testing.T) {
		for g, who := range groups {
			d := f.CheckImageBytes(ctx, readFile(t, filepath.Join(dir, g)))
			var want []string
			for _, p := range who {
				want = append(want, ids[p])
			}
			for _, id := range want {
				found := false
				for _, got := range d.RequestIDs {
					found = found || got == id
				}
				if !found {
					t.Errorf("%s: request ids %v lack %s", g, d.RequestIDs, id)
				}
			}
			if len(d.RequestIDs) != len(want) {
				t.Errorf("%s: request ids %v, want %v", g, d.RequestIDs, want)
			}
		}
	})
	t.Run("others allowed", func(t *testing.T) {
		for _, pr := range allowed {
			d := f.CheckImageBytes(ctx, pr.data)
			if nearest, ok := nearestEnrolled(t, emb, reg, pr.data); ok {
				minAllowed = min(minAllowed, nearest)
			}
			if d.Verdict != exclusion.Allow {
				t.Errorf("%s: %v (err %v), want allow; faces %+v", pr.name, d.Verdict, d.Err, d.Faces)
			}
		}
	})
	t.Logf("largest distance of a blocked photo to its person's enrolled face: %.3f; smallest distance of another person's crop to an enrolled face: %.3f; threshold %.2f",
		maxBlocked, minAllowed, exclusion.DefaultBlockThreshold)
	t.Run("withdrawn allowed again", func(t *testing.T) {
		for _, p := range enrolled {
			if _, err := reg.Withdraw(ctx, ids[p], p, "changed my mind"); err != nil {
				t.Fatal(err)
			}
		}
		if reg.Len() != 0 {
			t.Fatalf("%d faces still block", reg.Len())
		}
		for _, pr := range blocked {
			if !strings.HasSuffix(pr.name, ".png") && !strings.HasSuffix(pr.name, ".jpg") {
				continue // the variants cost four embedder passes each once allowed
			}
			if d := f.CheckImageBytes(ctx, pr.data); d.Verdict != exclusion.Allow {
				t.Errorf("%s after withdrawal: %v (err %v), want allow", pr.name, d.Verdict, d.Err)
			}
		}
	})
}

// nearestEnrolled returns the distance from the first face of an image to
// the nearest approved face, through a Filter whose policy blocks at any
// distance.
func nearestEnrolled(t *testing.T, emb embed.Embedder, reg *exclusion.Registry, data []byte) (float64, bool) {
	t.Helper()
	pol, err := exclusion.NewThresholdPolicy(2, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg := exclusion.DefaultFilterConfig()
	cfg.Policy, cfg.UprightOnly, cfg.NoTimeout = pol, true, true
	f, err := exclusion.NewFilter(reg, emb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := f.CheckImageBytes(ctx, data)
	if len(d.Faces) == 0 || len(d.Faces[0].Matches) == 0 {
		return 0, false
	}
	return d.Faces[0].Matches[0].Distance, true
}
