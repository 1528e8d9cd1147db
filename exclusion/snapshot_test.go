package exclusion

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
)

// sampleSnapshot has two models, a face opt-out with two faces (one
// suspended), an image removal, and a request without faces.
func sampleSnapshot() *snapshot {
	t := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	models := []embed.Model{{Name: "m", Dim: 2, ID: "abc", Threshold: 0.6, WeakReview: 0.4}, {Name: "n", Dim: 3, ID: "def"}}
	reqs := []*liveReq{
		{id: "r1", decided: t, sha: []string{"00ff", ""}, nfaces: 2},
		{id: "r2", decided: t, until: t.Add(time.Hour), sha: []string{"11"}, hashes: []uint64{1 << 63, 5}, urls: []string{"https://example.org/a"}},
		{id: "r3", decided: t},
	}
	q := embed.Quality{Size: 80, Sharpness: 12.5, Score: 0.75, Pose: "frontal"}
	faces := [][]EnrolledFace{
		{
			{RequestID: "r1", Descriptor: embed.Descriptor{0.6, 0.8}, Quality: q, Threshold: 0.5},
			{RequestID: "r1", Descriptor: embed.Descriptor{1, 0}, Quality: q, Threshold: 0.5, SuspendedUntil: t.Add(time.Minute)},
		},
		{
			{RequestID: "r1", Descriptor: embed.Descriptor{0, 0.6, 0.8}, Quality: q, Threshold: 0.5},
			{RequestID: "r1", Descriptor: embed.Descriptor{1, 0, 0}, Quality: q, Threshold: 0.5, SuspendedUntil: t.Add(time.Minute)},
		},
	}
	return &snapshot{Seq: 42, Created: t, Models: models, reqs: reqs, faces: faces}
}

func TestSnapshotRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	want := sampleSnapshot()
	if err := writeSnapshot(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := readSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	// What is read back: the descriptors in one array per model.
	want.data = make([][]float32, len(want.faces))
	for m := range want.faces {
		for i := range want.faces[m] {
			want.data[m] = append(want.data[m], want.faces[m][i].Descriptor...)
			want.faces[m][i].Descriptor = nil
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
		for i := range got.reqs {
			t.Logf("req %d: %+v want %+v", i, *got.reqs[i], *want.reqs[i])
		}
		t.Logf("faces %+v want %+v", got.faces, want.faces)
	}
	if !got.sameRegistry(Stats{Created: want.Created, Models: want.Models}) {
		t.Error("not the same registry")
	}
	if got.sameRegistry(Stats{Created: want.Created.Add(time.Second), Models: want.Models}) {
		t.Error("another creation time is the same registry")
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}
	if _, err := readSnapshot(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestSnapshotDamage flips a bit in every byte of a snapshot file, one
// byte at a time, and truncates it at every length: each is ErrCorrupt.
func TestSnapshotDamage(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	if err := writeSnapshot(good, sampleSnapshot()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bad")
	try := func(what string, data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readSnapshot(path); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: %v, want ErrCorrupt", what, err)
		}
	}
	for i := range b { // one bit of every byte, each bit position in turn
		d := append([]byte(nil), b...)
		d[i] ^= 1 << (i % 8)
		try("bit flipped", d)
	}
	for n := range len(b) {
		try("truncated", b[:n])
	}
	try("a byte more", append(append([]byte(nil), b...), 0))
	d := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(d[8:], snapshotVersion+1)
	s := sha256.Sum256(d[:len(d)-sha256.Size])
	copy(d[len(d)-sha256.Size:], s[:])
	try("another version", d)
}

// FuzzReadSnapshot feeds damaged snapshot files to readSnapshot: it must
// return a snapshot or an error wrapping ErrCorrupt, never panic.
func FuzzReadSnapshot(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good")
	if err := writeSnapshot(good, sampleSnapshot()); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Add([]byte(snapshotMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "s")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := readSnapshot(path)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		if err == nil && s == nil {
			t.Fatal("nil snapshot without an error")
		}
	})
}

// FuzzSnapshotBody gives arbitrary headers and bodies a valid checksum, so
// that the decoding itself is fuzzed.
func FuzzSnapshotBody(f *testing.F) {
	good := filepath.Join(f.TempDir(), "good")
	if err := writeSnapshot(good, sampleSnapshot()); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[:len(b)-sha256.Size])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		s := sha256.Sum256(p)
		path := filepath.Join(t.TempDir(), "s")
		if err := os.WriteFile(path, append(p, s[:]...), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readSnapshot(path); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
	})
}

// nullStore is a Store nothing is read from, for live sets filled directly.
type nullStore struct{ Store }

// BenchmarkSnapshotLoad reads a snapshot of 100,000 one-face requests and
// makes it live, as a replica's start does.
func BenchmarkSnapshotLoad(b *testing.B) {
	const n = 100000
	models := []embed.Model{{Name: "m", Dim: 128, ID: "abc"}}
	s := &snapshot{Seq: 1, Created: time.Unix(1, 0).UTC(), Models: models, faces: make([][]EnrolledFace, 1)}
	all := make([]float32, n*128)
	for i := range n {
		id := fmt.Sprintf("R%025d", i)
		s.reqs = append(s.reqs, &liveReq{id: id, decided: s.Created, sha: []string{fmt.Sprintf("%064x", i)}, nfaces: 1})
		d := all[i*128 : (i+1)*128]
		d[i%128] = 1
		s.faces[0] = append(s.faces[0], EnrolledFace{RequestID: id, Descriptor: d, Quality: embed.Quality{Size: 64, Score: 1}})
	}
	path := filepath.Join(b.TempDir(), "s")
	if err := writeSnapshot(path, s); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		got, err := readSnapshot(path)
		if err != nil {
			b.Fatal(err)
		}
		reg, err := newRegistry(nullStore{}, nil, Config{})
		if err != nil {
			b.Fatal(err)
		}
		if err := reg.setModels(models); err != nil {
			b.Fatal(err)
		}
		p := &Replica{reg: reg}
		if err := p.loadSnapshot(got); err != nil {
			b.Fatal(err)
		}
	}
}

// TestInstallSnapshotRejects checks that a well-formed, checksummed
// snapshot whose contents the live set cannot take (a threshold out of
// range, a descriptor that is not finite, a request twice) is refused with
// ErrCorrupt, and that resetLive then empties the live set.
func TestInstallSnapshotRejects(t *testing.T) {
	tests := []struct {
		name   string
		damage func(s *snapshot)
	}{
		{"threshold out of range", func(s *snapshot) {
			for m := range s.faces {
				s.faces[m][0].Threshold, s.faces[m][1].Threshold = 3, 3
			}
		}},
		{"descriptor not finite", func(s *snapshot) { s.faces[1][0].Descriptor[2] = float32(math.Inf(1)) }},
		{"request twice", func(s *snapshot) { s.reqs[2].id = "r2" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sampleSnapshot()
			tt.damage(s)
			path := filepath.Join(t.TempDir(), "s")
			if err := writeSnapshot(path, s); err != nil {
				t.Fatal(err)
			}
			got, err := readSnapshot(path)
			if err != nil {
				t.Fatal(err)
			}
			reg, err := newRegistry(nullStore{}, nil, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if err := reg.setModels(s.Models); err != nil {
				t.Fatal(err)
			}
			if err := reg.installSnapshot(got); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("installSnapshot: %v, want ErrCorrupt", err)
			}
			if err := reg.resetLive(); err != nil {
				t.Fatal(err)
			}
			if reg.Len() != 0 || len(reg.reqs) != 0 || reg.galleries[0].Len() != 0 {
				t.Errorf("live set after reset: %d faces, %d requests", reg.Len(), len(reg.reqs))
			}
		})
	}
}

// snapshotLivePerFace is the per-face copy of the live set (every face
// looked up through the maps and its descriptor copied out of the index one
// by one, all while changes wait): the baseline of BenchmarkSnapshotLive
// and the reference of TestCopyLive.
func (r *Registry) snapshotLivePerFace() (reqs []*liveReq, faces [][]EnrolledFace, data [][]float32, err error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	reqs = make([]*liveReq, 0, len(r.reqs))
	for _, lr := range r.reqs {
		reqs = append(reqs, lr)
	}
	faces = make([][]EnrolledFace, len(r.galleries))
	for m, g := range r.galleries {
		faces[m] = make([]EnrolledFace, 0, r.nfaces)
		g.mu.RLock()
		for _, lr := range reqs {
			for _, fid := range g.reqs[lr.id] {
				f := g.faces[fid]
				f.Descriptor = nil
				faces[m] = append(faces[m], f)
			}
		}
		g.mu.RUnlock()
	}
	data = make([][]float32, len(r.galleries))
	for m, g := range r.galleries {
		data[m] = make([]float32, 0, len(faces[m])*g.idx.dim())
		for _, f := range faces[m] {
			var ok bool
			if data[m], ok = g.idx.appendVector(f.ID, data[m]); !ok {
				return nil, nil, nil, fmt.Errorf("face %d is not in the index", f.ID)
			}
		}
	}
	return reqs, faces, data, nil
}

// liveSnapshotRegistry returns a registry with one 128-number model whose
// live set is n one-face requests, the first del of them then removed (so
// that index rows are out of request order).
func liveSnapshotRegistry(tb testing.TB, n, del int) *Registry {
	tb.Helper()
	models := []embed.Model{{Name: "m", Dim: 128, ID: "abc"}}
	s := &snapshot{Seq: 1, Created: time.Unix(1, 0).UTC(), Models: models, faces: make([][]EnrolledFace, 1), data: make([][]float32, 1)}
	s.data[0] = make([]float32, n*128)
	for i := range n {
		id := fmt.Sprintf("R%025d", i)
		s.reqs = append(s.reqs, &liveReq{id: id, decided: s.Created, sha: []string{fmt.Sprintf("%064x", i)}, nfaces: 1})
		s.data[0][i*128+i%128] = 1
		s.data[0][i*128+(i/128)%128] += float32(i%7) / 10
		s.faces[0] = append(s.faces[0], EnrolledFace{RequestID: id, Quality: embed.Quality{Size: 64 + i%5, Score: 1}, Threshold: float64(i%3) / 10})
	}
	reg, err := newRegistry(nullStore{}, nil, Config{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := reg.setModels(models); err != nil {
		tb.Fatal(err)
	}
	if err := reg.installSnapshot(s); err != nil {
		tb.Fatal(err)
	}
	reg.mu.Lock()
	for _, lr := range s.reqs[:del] {
		reg.removeLiveLocked(reg.reqs[lr.id])
	}
	reg.mu.Unlock()
	return reg
}

// TestCopyLive checks that copyLive then order return the live set the
// per-face copy returns: the same requests, each with the same faces and
// descriptors.
func TestCopyLive(t *testing.T) {
	tests := []struct {
		name   string
		n, del int
	}{
		{"empty", 0, 0},
		{"in order", 300, 0},
		{"after removals", 300, 41},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := liveSnapshotRegistry(t, tt.n, tt.del)
			byReq := func(reqs []*liveReq, faces [][]EnrolledFace, data [][]float32) map[string]string {
				out := map[string]string{}
				k := 0
				for _, lr := range reqs {
					out[lr.id] = fmt.Sprintf("%+v %+v %v", *lr, faces[0][k:k+lr.nfaces], data[0][k*128:(k+lr.nfaces)*128])
					k += lr.nfaces
				}
				return out
			}
			reqs, faces, data, err := reg.snapshotLivePerFace()
			if err != nil {
				t.Fatal(err)
			}
			want := byReq(reqs, faces, data)
			reqs, faces, data, err = reg.copyLive(reg.rowBuffers()).order()
			if err != nil {
				t.Fatal(err)
			}
			if got := byReq(reqs, faces, data); !reflect.DeepEqual(got, want) {
				t.Errorf("copyLive: %d requests differ from the per-face copy's %d", len(got), len(want))
			}
			if len(reqs) != tt.n-tt.del {
				t.Errorf("%d requests, want %d", len(reqs), tt.n-tt.del)
			}
		})
	}
}

var snapshotLiveN = flag.Int("snapshotlive.n", 100000, "one-face requests in BenchmarkSnapshotLive's live set")

// BenchmarkSnapshotLive times how long changes wait while a replica copies
// the live set of -snapshotlive.n one-face requests (100,000 by default)
// before it writes its snapshot:
// per face (the baseline) and by whole rows (copyLive into rowBuffers,
// what a replica does; its order step, after changes go on, is reported as
// order-ns/op; rowBuffers, before changes wait, is not timed).
func BenchmarkSnapshotLive(b *testing.B) {
	reg := liveSnapshotRegistry(b, *snapshotLiveN, 0)
	b.Run("per face", func(b *testing.B) {
		for range b.N {
			reg.wmu.Lock()
			_, _, _, err := reg.snapshotLivePerFace()
			reg.wmu.Unlock()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rows", func(b *testing.B) {
		var ordering time.Duration
		for range b.N {
			b.StopTimer()
			ids, data := reg.rowBuffers()
			b.StartTimer()
			reg.wmu.Lock()
			c := reg.copyLive(ids, data)
			reg.wmu.Unlock()
			b.StopTimer()
			t := time.Now()
			if _, _, _, err := c.order(); err != nil {
				b.Fatal(err)
			}
			ordering += time.Since(t)
			b.StartTimer()
		}
		b.ReportMetric(float64(ordering.Nanoseconds())/float64(b.N), "order-ns/op")
	})
}
