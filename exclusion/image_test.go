package exclusion_test

import (
	"context"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
	"github.com/faceoptout/faceoptout/imageutil"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// plainEmbedder hides embed.Dlib's FacesBytesWith: a Filter over it takes
// the slow path (imageutil decode, then Faces).
type plainEmbedder struct{ d *embed.Dlib }

func (p plainEmbedder) Faces(ctx context.Context, img image.Image) ([]embed.Face, error) {
	return p.d.Faces(ctx, img)
}

func (p plainEmbedder) Model() embed.Model { return p.d.Model() }

// TestFastPathMatchesSlowPath checks the Filter's fast path (the
// embedder's own decoder: libjpeg-turbo in the worker, the look for the
// perceptual hash) against its slow path (imageutil decode, then Faces)
// on every photo of faces/bbt and faces/idols, with three faces/bbt people
// enrolled and an image removal of a re-encoded idols photo: the same
// verdicts, the same requests, the same faces within a few pixels, and
// distances to the enrolled faces within 0.1 (the two decoders' JPEG
// pixels differ slightly, and so do descriptors).
func TestFastPathMatchesSlowPath(t *testing.T) {
	const distTolerance = 0.1
	emb := realEmbedder(t)
	faces := testenv.Faces(t)
	st, err := boltstore.Create(filepath.Join(t.TempDir(), "registry.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := exclusion.Create(ctx, st, emb, exclusion.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	for _, p := range []string{"sheldon", "penny", "leonard"} {
		req := mustSubmit(t, reg, faceSubmission(readFile(t, filepath.Join(faces, "bbt", p, p+"1.png"))))
		mustApprove(t, reg, req.ID)
	}
	idols, _ := filepath.Glob(filepath.Join(faces, "idols", "*.jpg"))
	sort.Strings(idols)
	if len(idols) == 0 {
		t.Fatal("no faces/idols photos")
	}
	removal := removalSubmission("https://example.org/removed.jpg")
	removal.Photos = []exclusion.Photo{{Data: jpegOf(t, decodeFile(t, idols[0]), 70)}}
	mustApprove(t, reg, mustSubmit(t, reg, removal).ID)

	cfg := exclusion.DefaultFilterConfig()
	cfg.Timeout = 0
	fast, err := exclusion.NewFilter(reg, emb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := exclusion.NewFilter(reg, plainEmbedder{emb}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(faces, "bbt", "*", "*.png"))
	groups, _ := filepath.Glob(filepath.Join(faces, "bbt", "*.jpg"))
	files = append(append(files, groups...), idols...)
	counts := map[exclusion.Verdict]int{}
	var worst float64
	compared := 0
	for _, f := range files {
		name := filepath.Base(f)
		data := readFile(t, f)
		a, b := fast.CheckImageBytes(ctx, data), slow.CheckImageBytes(ctx, data)
		counts[a.Verdict]++
		if a.Verdict != b.Verdict || !equalStrings(a.RequestIDs, b.RequestIDs) {
			t.Errorf("%s: fast path %v %v (err %v), slow path %v %v (err %v)", name, a.Verdict, a.RequestIDs, a.Err, b.Verdict, b.RequestIDs, b.Err)
			continue
		}
		if len(a.Faces) != len(b.Faces) {
			t.Errorf("%s: fast path found %d faces, slow path %d", name, len(a.Faces), len(b.Faces))
			continue
		}
		for _, fa := range a.Faces {
			fb, ok := sameFace(fa, b.Faces)
			if !ok {
				t.Errorf("%s: face %v of the fast path not found by the slow path", name, fa.Box)
				continue
			}
			if fa.Verdict != fb.Verdict {
				t.Errorf("%s: face %v: fast %v, slow %v", name, fa.Box, fa.Verdict, fb.Verdict)
			}
			for _, ma := range fa.Matches {
				for _, mb := range fb.Matches {
					if ma.FaceID == mb.FaceID {
						compared++
						d := math.Abs(ma.Distance - mb.Distance)
						worst = max(worst, d)
						if d > distTolerance {
							t.Errorf("%s: face %v to enrolled face %d: fast %.3f, slow %.3f", name, fa.Box, ma.FaceID, ma.Distance, mb.Distance)
						}
					}
				}
			}
		}
	}
	t.Logf("%d photos: verdicts %v; %d distances compared, largest difference %.4f (tolerance %.2f)", len(files), counts, compared, worst, distTolerance)
	if counts[exclusion.Block] == 0 {
		t.Error("nothing blocked: the fixture does not exercise matching")
	}
}

func sameFace(f exclusion.FaceCheck, others []exclusion.FaceCheck) (exclusion.FaceCheck, bool) {
	best, bi := 0.0, -1
	for i, o := range others {
		if v := exclusion.IoU(f.Box, o.Box); v > best {
			best, bi = v, i
		}
	}
	if bi < 0 || best < 0.7 {
		return exclusion.FaceCheck{}, false
	}
	return others[bi], true
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }

func decodeFile(t *testing.T, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := imageutil.DecodeBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	return m.RGB
}
