package dlib_test

import (
	"bytes"
	"debug/elf"
	"github.com/faceoptout/faceoptout/embed/internal/dlib"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/faceoptout/faceoptout/internal/testenv"
)

// avx2Worker skips the test (saying why) on a CPU without AVX2+FMA, else
// returns a worker with the HOG detector (freed at the end of the test)
// and the faces directory.
func avx2Worker(t *testing.T, why string) (*dlib.Worker, string) {
	t.Helper()
	if !dlib.HaveAVX2() {
		t.Skip("CPU without AVX2+FMA: " + why)
	}
	models := testenv.Models(t)
	faces := testenv.Faces(t)
	w, err := dlib.Load(models, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Free)
	return w, faces
}

// TestAVX2MatchesPortable scans photos with both builds of the HOG scan
// (resampled, padded, and reduced by pyramid levels): the AVX2 build must
// find the same faces, at the same places, with the same scores but for
// float rounding (FMA and the wider vectors sum in another order: measured
// up to 0.02, on margins of 1 to 3). Both resize with the same integer
// code (scan.h), so their pixels are the same.
func TestAVX2MatchesPortable(t *testing.T) {
	w, faces := avx2Worker(t, "only the portable build runs")
	files, _ := filepath.Glob(filepath.Join(faces, "idols", "*.jpg"))
	if len(files) < 4 {
		t.Fatalf("want idols photos, found %d", len(files))
	}
	total := 0
	for _, f := range files[:6] {
		size := setJPEG(t, w, f)
		for _, o := range []dlib.DetectOptions{{Scale: 0.5, Pad: 7}, {Scale: 2.0 / 3, Pad: 7}, {Levels: 2}} {
			opts := o
			opts.Max = 64
			avx, n1, s1, err := w.Detect(opts)
			if err != nil {
				t.Fatal(err)
			}
			opts.Portable = true
			sse, n2, s2, err := w.Detect(opts)
			if err != nil {
				t.Fatal(err)
			}
			if n1 != n2 || s1 != s2 {
				t.Fatalf("%s %v with %+v: AVX2 %d faces on %v, portable %d on %v", filepath.Base(f), size, o, n1, s1, n2, s2)
			}
			for i := range avx {
				a, b := avx[i], sse[i]
				if a.Rect != b.Rect || a.Pose != b.Pose || math.Abs(a.Score-b.Score) > 0.05 {
					t.Errorf("%s with %+v: AVX2 %+v, portable %+v", filepath.Base(f), o, a, b)
				}
			}
			total += n1
		}
	}
	if total == 0 {
		t.Fatal("no face found: the comparison tested nothing")
	}
	w.ClearImage()
}

// TestFusedFiltersMatchDlib checks the AVX2 build's fused filtering
// (filters.h) against dlib's own (object_detector with
// apply_filters_to_fhog) on the same pyramid: the same detections in the
// same order with bit-identical scores, including the weak ones a lowered
// threshold lets through (which exercise the sorting and the overlap
// suppression).
func TestFusedFiltersMatchDlib(t *testing.T) {
	w, faces := avx2Worker(t, "the fused filters are not used")
	files, _ := filepath.Glob(filepath.Join(faces, "idols", "*.jpg"))
	crops, _ := filepath.Glob(filepath.Join(faces, "bbt", "bbt*.jpg"))
	if len(files) < 6 || len(crops) < 4 {
		t.Fatalf("want idols photos and bbt group photos, found %d and %d", len(files), len(crops))
	}
	files = append(files[:6], crops[:4]...)
	total := 0
	for _, f := range files {
		setJPEG(t, w, f)
		for _, o := range []dlib.DetectOptions{
			{Levels: 2}, {Levels: 3, Adjust: -0.6}, {Scale: 0.5, Pad: 7, Adjust: -1},
			{Scale: 1, Adjust: -0.3}, {Scale: 2.0 / 3, Pad: 30},
		} {
			opts := o
			opts.Max = 256
			fused, n1, s1, err := w.Detect(opts)
			if err != nil {
				t.Fatal(err)
			}
			opts.DlibFilters = true
			ref, n2, s2, err := w.Detect(opts)
			if err != nil {
				t.Fatal(err)
			}
			if n1 != n2 || s1 != s2 {
				t.Fatalf("%s with %+v: fused %d faces on %v, dlib's %d on %v", filepath.Base(f), o, n1, s1, n2, s2)
			}
			for i := range fused {
				if fused[i] != ref[i] {
					t.Errorf("%s with %+v: detection %d: fused %+v, dlib's %+v", filepath.Base(f), o, i, fused[i], ref[i])
				}
			}
			total += n1
		}
	}
	if total < 20 {
		t.Fatalf("%d detections in all: the comparison tested too little", total)
	}
	t.Logf("%d detections compared", total)
	w.ClearImage()
}

// TestFHOGMatchesDlib checks the AVX2 build's FHOG features (fhog.h,
// orientations from a table) against dlib's extract_fhog_features, every
// value in every bit: on photos and their pyramid levels, and on random
// images, whose gradients reach most of the 511 x 511 integer pairs the
// table holds (and their near ties between two orientations).
func TestFHOGMatchesDlib(t *testing.T) {
	if !dlib.HaveAVX2() {
		t.Skip("CPU without AVX2+FMA: the AVX2 features are not used")
	}
	check := func(name string, pix []byte, w, h int) {
		t.Helper()
		differ, total, err := dlib.CheckFHOG(pix, w, h)
		if err != nil {
			t.Fatal(err)
		}
		if total == 0 && w >= 32 && h >= 32 {
			t.Fatalf("%s %dx%d: no feature compared", name, w, h)
		}
		if differ != 0 {
			t.Errorf("%s %dx%d: %d of %d feature values differ from dlib's", name, w, h, differ, total)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][2]int{{1000, 1000}, {1003, 517}, {1004, 333}, {85, 77}, {37, 29}, {9, 9}, {64, 200}} {
		w, h := sz[0], sz[1]
		pix := make([]byte, 3*w*h)
		for i := range pix {
			pix[i] = byte(rng.IntN(256))
		}
		check("random", pix, w, h)
		// Random steps of random heights along rows: large gradients too.
		for i := range pix {
			if rng.IntN(3) == 0 {
				pix[i] = byte(255 * rng.IntN(2))
			}
		}
		check("random steps", pix, w, h)
	}
	files, _ := filepath.Glob(filepath.Join(testenv.Faces(t), "idols", "*.jpg"))
	if len(files) < 3 {
		t.Fatalf("want idols photos, found %d", len(files))
	}
	for _, f := range files[:3] {
		pix, w, h := decodeFile(t, f)
		for range 4 {
			check(filepath.Base(f), pix, w, h)
			ow, oh := 5*w/6, 5*h/6
			pix, w, h = dlib.BilinearRGB(pix, w, h, ow, oh, true), ow, oh
		}
	}
}

// TestFHOGOrientationTable checks fhog.h's orientation table over all
// 511 x 511 integer gradients against dlib's rule (the largest of the 9
// dot products and their opposites, taken in order when strictly larger),
// evaluated three ways: with the products rounded before they are added
// (what dlib's compiled loop does) and with either product fused into the
// add. The three agree on every pair, so the table does not depend on how
// a compiler contracts dlib's expression.
func TestFHOGOrientationTable(t *testing.T) {
	if !dlib.HaveAVX2() {
		t.Skip("CPU without AVX2+FMA: the table is not used")
	}
	a := [5]float32{1, 0.9397, 0.7660, 0.5000, 0.1736}
	b := [5]float32{0, 0.3420, 0.6428, 0.8660, 0.9848}
	pick := func(dot *[9]float32) int {
		best, bo := float32(0), 0
		for o, d := range dot {
			if d > best {
				best, bo = d, o
			}
			if -d > best {
				best, bo = -d, o+9
			}
		}
		return bo
	}
	fma := func(x, y, z float32) float32 { return float32(math.FMA(float64(x), float64(y), float64(z))) }
	bad := 0
	for gy := -255; gy <= 255; gy++ {
		for gx := -255; gx <= 255; gx++ {
			fx, fy := float32(gx), float32(gy)
			var rounded, fusedQ, fusedP [9]float32
			rounded[0], fusedQ[0], fusedP[0] = fx, fx, fx
			for o := 1; o <= 4; o++ {
				p, q := float32(fx*a[o]), float32(fy*b[o]) // explicit conversions: rounded, never fused
				rounded[o], rounded[9-o] = q+p, q-p
				fusedQ[o], fusedQ[9-o] = fma(fy, b[o], p), fma(fy, b[o], -p)
				fusedP[o], fusedP[9-o] = fma(fx, a[o], q), fma(-fx, a[o], q)
			}
			want := pick(&rounded)
			got := dlib.FHOGOrientation(gx, gy)
			if got != want || pick(&fusedQ) != want || pick(&fusedP) != want {
				if bad++; bad <= 5 {
					t.Errorf("gradient (%d, %d): table %d, rounded %d, fused %d / %d", gx, gy, got, want,
						pick(&fusedQ), pick(&fusedP))
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of 261121 gradients disagree", bad)
	}
}

// TestAVX2Isolation compiles hog_avx2.cc as cgo does and checks the ODR
// measures its comment describes: no weak (linker-deduplicated) function
// outside the renamed fo_dlib_avx2 namespace may contain AVX code, or the
// linker could hand it to the portable path.
func TestAVX2Isolation(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("amd64 only")
	}
	cxx := os.Getenv("CXX")
	if cxx == "" {
		cxx = "g++"
	}
	if _, err := exec.LookPath(cxx); err != nil {
		t.Skipf("no C++ compiler: %v", err)
	}
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		t.Skipf("no objdump: %v", err)
	}
	obj := filepath.Join(t.TempDir(), "hog_avx2.o")
	out, err := exec.Command(cxx, "-std=c++17", "-O3", "-DNDEBUG", "-c", "hog_avx2.cc", "-o", obj).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cxx, err, out)
	}
	f, err := elf.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	syms, err := f.Symbols()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	weak := map[string]bool{}
	renamed := 0
	for _, s := range syms {
		if elf.ST_BIND(s.Info) != elf.STB_WEAK || elf.ST_TYPE(s.Info) != elf.STT_FUNC {
			continue
		}
		if strings.Contains(s.Name, "fo_dlib_avx2") {
			renamed++
			continue
		}
		weak[s.Name] = true
	}
	if renamed == 0 {
		t.Fatal("no weak symbol in fo_dlib_avx2: the namespace rename did not happen")
	}
	dis, err := exec.Command(objdump, "-d", "--no-show-raw-insn", obj).Output()
	if err != nil {
		t.Fatal(err)
	}
	cur, avxInRenamed := "", false
	for _, line := range bytes.Split(dis, []byte("\n")) {
		l := string(line)
		if i := strings.Index(l, " <"); i > 0 && strings.HasSuffix(l, ">:") {
			cur = l[i+2 : len(l)-2]
			continue
		}
		if !strings.Contains(l, "%ymm") {
			continue
		}
		if strings.Contains(cur, "fo_dlib_avx2") {
			avxInRenamed = true
		}
		if weak[cur] {
			t.Errorf("weak function %s outside fo_dlib_avx2 contains AVX code: %s", cur, strings.TrimSpace(l))
			weak[cur] = false
		}
	}
	if !avxInRenamed {
		t.Error("no AVX code in fo_dlib_avx2: the target pragma had no effect")
	}
}
