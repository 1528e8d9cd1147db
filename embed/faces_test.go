package embed_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
)

// bbtFaces describes the largest face of every bbt crop, keyed by person.
func bbtFaces(t *testing.T, d *embed.Dlib) (map[string][]embed.Descriptor, []string) {
	t.Helper()
	files, err := filepath.Glob(facesPath(t, "bbt", "*", "*.png"))
	if err != nil || len(files) != 40 {
		t.Fatalf("want 40 bbt crops, got %d (%v)", len(files), err)
	}
	byPerson := map[string][]embed.Descriptor{}
	var missed []string
	for _, f := range files {
		faces, err := d.Faces(context.Background(), decodeFile(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		face, err := embed.Largest(faces)
		if err != nil {
			missed = append(missed, filepath.Base(f))
			continue
		}
		p := filepath.Base(filepath.Dir(f))
		byPerson[p] = append(byPerson[p], face.Descriptor)
	}
	return byPerson, missed
}

// TestBBTCrops checks that every one of the 40 tight 150x150 crops gives a
// face and that each person's crops are nearer to each other than to anyone
// else's (rank-1 identification over the leave-one-out gallery).
func TestBBTCrops(t *testing.T) {
	d := newDlib(t, 80)
	byPerson, missed := bbtFaces(t, d)
	if len(missed) > 0 {
		t.Errorf("no face found in %v (want 40 of 40)", missed)
	}
	type sample struct {
		who string
		d   embed.Descriptor
	}
	var all []sample
	for p, ds := range byPerson {
		for _, d := range ds {
			all = append(all, sample{p, d})
		}
	}
	maxSame, minDiff := 0.0, math.Inf(1)
	wrong := 0
	for i, a := range all {
		best, bestWho := math.Inf(1), ""
		for j, b := range all {
			if i == j {
				continue
			}
			dist := a.d.Distance(b.d)
			if dist < best {
				best, bestWho = dist, b.who
			}
			if a.who == b.who {
				maxSame = math.Max(maxSame, dist)
			} else {
				minDiff = math.Min(minDiff, dist)
			}
		}
		if bestWho != a.who {
			wrong++
			t.Errorf("a crop of %s is nearest to %s (%.3f)", a.who, bestWho, best)
		}
	}
	t.Logf("%d crops, rank-1 %d/%d; same-person distance at most %.3f, different-person at least %.3f",
		len(all), len(all)-wrong, len(all), maxSame, minDiff)
}

type idolData struct {
	Idols []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		BandName string `json:"band_name"`
	} `json:"idols"`
	Faces []struct {
		Descriptor string `json:"descriptor"`
		IdolID     string `json:"idol_id"`
	} `json:"faces"`
}

// TestIdols runs go-face's own labelling test through this pipeline: the
// single face of each photo is labelled like go-face's classify (the
// category with most hits among the 10 nearest of idols.json's 1,286
// descriptors, ties to the nearest).
func TestIdols(t *testing.T) {
	d := newDlib(t, 80)
	raw, err := os.ReadFile(facesPath(t, "idols", "idols.json"))
	if err != nil {
		t.Fatal(err)
	}
	var data idolData
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, i := range data.Idols {
		names[i.ID] = i.Name + ", " + i.BandName
	}
	samples := make([]embed.Descriptor, len(data.Faces))
	for i, f := range data.Faces {
		b, err := base64.StdEncoding.DecodeString(f.Descriptor)
		if err != nil || len(b) != 4*embed.DlibDim {
			t.Fatalf("face %d: bad descriptor (%d bytes, %v)", i, len(b), err)
		}
		samples[i] = make(embed.Descriptor, embed.DlibDim)
		for j := range samples[i] {
			samples[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
	}
	tests := map[string]string{
		"elkie.jpg": "Elkie, CLC", "chaeyoung.jpg": "Chaeyoung, Twice", "chaeyoung2.jpg": "Chaeyoung, Twice",
		"sejeong.jpg": "Sejeong, Gugudan", "jimin.jpg": "Jimin, AOA", "jimin2.jpg": "Jimin, AOA",
		"jimin4.jpg": "Jimin, AOA", "meiqi.jpg": "Mei Qi, WJSN", "chaeyeon.jpg": "Chaeyeon, DIA",
		"chaeyeon3.jpg": "Chaeyeon, DIA", "tzuyu2.jpg": "Tzuyu, Twice", "nayoung.jpg": "Nayoung, PRISTIN",
		"luda2.jpg": "Luda, WJSN", "joy.jpg": "Joy, Red Velvet",
	}
	for file, want := range tests {
		t.Run(strings.TrimSuffix(file, ".jpg"), func(t *testing.T) {
			faces, err := d.Faces(context.Background(), decodeFile(t, facesPath(t, "idols", file)))
			if err != nil {
				t.Fatal(err)
			}
			if len(faces) != 1 {
				t.Fatalf("%d faces, want 1", len(faces))
			}
			if got := names[classify(samples, data, faces[0].Descriptor)]; got != want {
				t.Errorf("labelled %q, want %q", got, want)
			}
		})
	}
}

// classify is go-face's classify: among the 10 nearest samples, the idol
// with most hits wins, ties going to the nearest.
func classify(samples []embed.Descriptor, data idolData, q embed.Descriptor) string {
	idx := make([]int, len(samples))
	dist := make([]float64, len(samples))
	for i := range samples {
		idx[i] = i
		dist[i] = q.Distance(samples[i])
	}
	sort.SliceStable(idx, func(a, b int) bool { return dist[idx[a]] < dist[idx[b]] })
	hits := map[string]int{}
	nearest := map[string]float64{}
	for _, i := range idx[:10] {
		id := data.Faces[i].IdolID
		if hits[id] == 0 {
			nearest[id] = dist[i]
		}
		hits[id]++
	}
	best := ""
	for id, h := range hits {
		if best == "" || h > hits[best] || (h == hits[best] && nearest[id] < nearest[best]) {
			best = id
		}
	}
	return best
}

// TestPristin checks the group photo of ten faces of 86-104 px at the
// default MinFaceSize.
func TestPristin(t *testing.T) {
	d := newDlib(t, 80)
	faces, err := d.Faces(context.Background(), decodeFile(t, facesPath(t, "idols", "pristin.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 10 {
		t.Errorf("%d faces, want 10", len(faces))
	}
}
