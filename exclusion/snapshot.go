package exclusion

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/index"
)

// A replica snapshot file holds a replica's live set, little endian:
//
//	header  magic "FOLIVESN" | version uint32 (2) | 0 uint32 | feed sequence uint64 |
//	        registry creation time (8+4 bytes) | models uint32 | requests uint64 |
//	        faces uint64 | metadata length uint64
//	metadata  each model (name, id, dim, calibration), then each approved request's live
//	        record (id, decision time, suspension, threshold, image SHA-256s,
//	        perceptual hashes, URLs) and its enrolled faces (quality,
//	        suspension), in varint-prefixed fields
//	descriptors  for each model, every face's descriptor (float32), in the
//	        metadata's face order, contiguous
//	trailer  SHA-256 of everything before it
//
// The descriptors are read in big blocks straight into one array per
// model; nothing is decoded per field but the metadata. Anything that does
// not check (magic, version, sizes, SHA-256, any field) is damage: the
// file is ignored and the replica loads from the store.
const (
	snapshotMagic   = "FOLIVESN"
	snapshotVersion = 2
	snapshotHead    = 8 + 4 + 4 + 8 + 12 + 4 + 8 + 8 + 8
)

// maxSnapshot bounds the size of a snapshot file (256 GiB).
const maxSnapshot = 256 << 30

// snapshot is a replica's live set and the feed sequence it includes:
// reqs[i] has reqs[i].nfaces faces, which are, in every model m, the next
// ones of faces[m] (faces[m] has the faces of every request in order).
// The descriptors are the rows of data[m], in face order, when data is set
// (as readSnapshot returns them; what a replica writes); else the faces'
// own.
type snapshot struct {
	Seq     uint64
	Created time.Time
	Models  []embed.Model
	reqs    []*liveReq
	faces   [][]EnrolledFace
	data    [][]float32
}

// sameRegistry reports whether a snapshot belongs to the registry whose
// stats are st.
func (s *snapshot) sameRegistry(st Stats) bool {
	return s.Created.Equal(st.Created) && slices.Equal(s.Models, st.Models)
}

// liveCopy is a copy of a registry's live set as copyLive takes it:
// maps cloned whole and each gallery's index rows moved in storage order,
// nothing done per face; order puts it in snapshot order afterwards.
type liveCopy struct {
	reqs      map[string]*liveReq       // a liveReq does not change once live
	faces     []map[uint64]EnrolledFace // per gallery
	reqFaces  []map[string][]uint64     // per gallery: a request's face ids
	ids       [][]index.ID              // per gallery, the index's rows' ids
	data      [][]float32               // per gallery, the index's rows
	dims      []int
	faceCount int
}

// rowBuffers returns, for each gallery, empty id and descriptor slices with
// room for its index's rows and some more, their memory allocated and
// touched now, before the caller makes changes wait, so that copyLive only
// moves bytes when the live set has not grown past the room meanwhile.
func (r *Registry) rowBuffers() (ids [][]index.ID, data [][]float32) {
	r.mu.RLock()
	gs := slices.Clone(r.galleries)
	r.mu.RUnlock()
	ids, data = make([][]index.ID, len(gs)), make([][]float32, len(gs))
	for m, g := range gs {
		n := g.idx.len()
		n += n/64 + 1024
		ids[m], data[m] = make([]index.ID, n), make([]float32, n*g.idx.dim())
		for i := 0; i < len(ids[m]); i += 512 { // one write per 4 KiB page
			ids[m][i] = 0
		}
		for i := 0; i < len(data[m]); i += 1024 {
			data[m][i] = 0
		}
		ids[m], data[m] = ids[m][:0], data[m][:0]
	}
	return ids, data
}

// copyLive copies the registry's live set, appending the index rows to
// ids[m] and data[m] (from rowBuffers, or nil). The caller holds r.wmu, so
// that no change lands meanwhile (changes wait for as long as copyLive
// runs); checks go on. The copy takes a clone of each map and one memory
// move of each index's arrays; putting the faces in order is order's work,
// after the caller lets changes go on.
func (r *Registry) copyLive(ids [][]index.ID, data [][]float32) *liveCopy {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c := &liveCopy{
		reqs:      maps.Clone(r.reqs),
		faces:     make([]map[uint64]EnrolledFace, len(r.galleries)),
		reqFaces:  make([]map[string][]uint64, len(r.galleries)),
		ids:       make([][]index.ID, len(r.galleries)),
		data:      make([][]float32, len(r.galleries)),
		dims:      make([]int, len(r.galleries)),
		faceCount: r.nfaces,
	}
	for m, g := range r.galleries {
		g.mu.RLock()
		c.faces[m], c.reqFaces[m] = maps.Clone(g.faces), maps.Clone(g.reqs)
		g.mu.RUnlock()
		var bi []index.ID
		var bd []float32
		if m < len(ids) && m < len(data) {
			bi, bd = ids[m], data[m]
		}
		c.ids[m], c.data[m] = g.idx.appendRows(bi, bd)
		c.dims[m] = g.idx.dim()
	}
	return c
}

// order returns the copied live set in snapshot order: its requests, their
// faces (without descriptors) and, in data[m], the faces' descriptors in
// gallery m, in face order.
func (c *liveCopy) order() (reqs []*liveReq, faces [][]EnrolledFace, data [][]float32, err error) {
	reqs = make([]*liveReq, 0, len(c.reqs))
	for _, lr := range c.reqs {
		reqs = append(reqs, lr)
	}
	faces = make([][]EnrolledFace, len(c.faces))
	data = make([][]float32, len(c.faces))
	for m := range c.faces {
		dim := c.dims[m]
		pos := make(map[uint64]int, len(c.ids[m]))
		for i, id := range c.ids[m] {
			pos[uint64(id)] = i
		}
		faces[m] = make([]EnrolledFace, 0, c.faceCount)
		data[m] = make([]float32, 0, c.faceCount*dim)
		for _, lr := range reqs {
			for _, fid := range c.reqFaces[m][lr.id] {
				i, ok := pos[fid]
				f, known := c.faces[m][fid]
				if !ok || !known {
					return nil, nil, nil, fmt.Errorf("exclusion: snapshot: face %d is not in the index", fid)
				}
				f.Descriptor = nil
				faces[m] = append(faces[m], f)
				data[m] = append(data[m], c.data[m][i*dim:(i+1)*dim]...)
			}
		}
		c.data[m], c.ids[m] = nil, nil // let the rows go as soon as they are ordered
	}
	return reqs, faces, data, nil
}

// installSnapshot makes a snapshot's live set live in an empty registry,
// with fresh face ids: each gallery's index is loaded in one batch and every
// map is sized once. On error the live set may be partly filled (the
// caller resets it).
func (r *Registry) installSnapshot(s *snapshot) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(s.faces) != len(r.galleries) || len(s.data) != len(r.galleries) {
		return fmt.Errorf("%w: snapshot: faces of %d models, the registry has %d", ErrCorrupt, len(s.faces), len(r.galleries))
	}
	if len(r.reqs) != 0 || r.nfaces != 0 {
		return errors.New("exclusion: snapshot: the live set is not empty")
	}
	nfaces, nsha := 0, 0
	for _, lr := range s.reqs {
		nfaces += lr.nfaces
		nsha += len(lr.sha)
	}
	ids := make([]uint64, nfaces)
	for i := range ids {
		ids[i] = r.nextFace.Add(1)
	}
	r.reqs = make(map[string]*liveReq, len(s.reqs))
	r.sha = make(map[string][]string, nsha)
	for _, lr := range s.reqs {
		if _, dup := r.reqs[lr.id]; dup {
			return fmt.Errorf("%w: snapshot: request %q twice", ErrCorrupt, lr.id)
		}
		r.addKeysLocked(lr)
	}
	for m, g := range r.galleries {
		if err := g.load(s.reqs, s.faces[m], ids, s.data[m]); err != nil {
			return fmt.Errorf("%w: snapshot: %w", ErrCorrupt, err)
		}
	}
	return nil
}

// load fills an empty gallery with faces (of reqs, in order, ids[i] the id
// of faces[i]) whose descriptors are the rows of data, in one batch. The
// gallery's index keeps data: the caller must not use it afterwards.
func (g *Gallery) load(reqs []*liveReq, faces []EnrolledFace, ids []uint64, data []float32) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.faces) != 0 || len(faces) != len(ids) {
		return fmt.Errorf("loading %d faces (%d ids) into a gallery of %d", len(faces), len(ids), len(g.faces))
	}
	for _, f := range faces {
		if !(f.Threshold >= 0 && f.Threshold <= 2) {
			return fmt.Errorf("a threshold %g not in [0, 2]", f.Threshold)
		}
	}
	if err := g.idx.adoptBatch(ids, data); err != nil {
		return err
	}
	g.faces = make(map[uint64]EnrolledFace, len(faces))
	g.reqs = make(map[string][]uint64, len(reqs))
	k := 0
	for _, lr := range reqs {
		if lr.nfaces == 0 {
			continue
		}
		fids := ids[k : k+lr.nfaces : k+lr.nfaces]
		for i, f := range faces[k : k+lr.nfaces] {
			f.ID, f.Descriptor = fids[i], nil
			g.faces[f.ID] = f
			g.maxThr = max(g.maxThr, f.Threshold)
		}
		g.reqs[lr.id] = fids
		k += lr.nfaces
	}
	return nil
}

// snapEnc appends the metadata fields.
type snapEnc struct{ b []byte }

func (e *snapEnc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *snapEnc) u64(v uint64)     { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *snapEnc) f64(v float64)    { e.u64(math.Float64bits(v)) }
func (e *snapEnc) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *snapEnc) time(t time.Time) {
	if t.IsZero() {
		e.b = append(e.b, 0)
		return
	}
	e.b = append(e.b, 1)
	e.u64(uint64(t.Unix()))
	e.uvarint(uint64(t.Nanosecond()))
}

// writeSnapshot writes s to path atomically: a temporary file in the same
// directory, synced, renamed over path, and the directory synced.
func writeSnapshot(path string, s *snapshot) error {
	if len(s.faces) != len(s.Models) {
		return fmt.Errorf("exclusion: snapshot: faces of %d models, %d models", len(s.faces), len(s.Models))
	}
	nfaces := 0
	for _, lr := range s.reqs {
		nfaces += lr.nfaces
	}
	var meta snapEnc
	for _, m := range s.Models {
		meta.str(m.Name)
		meta.str(m.ID)
		meta.uvarint(uint64(m.Dim))
		meta.f64(m.Threshold)
		meta.f64(m.WeakReview)
	}
	k := 0
	for _, lr := range s.reqs {
		meta.str(lr.id)
		meta.time(lr.decided)
		meta.time(lr.until)
		thr := 0.0
		if lr.nfaces > 0 && len(s.faces) > 0 {
			thr = s.faces[0][k].Threshold
		}
		meta.f64(thr)
		meta.uvarint(uint64(len(lr.sha)))
		for _, h := range lr.sha {
			meta.str(h)
		}
		meta.uvarint(uint64(len(lr.hashes)))
		for _, h := range lr.hashes {
			meta.u64(h)
		}
		meta.uvarint(uint64(len(lr.urls)))
		for _, u := range lr.urls {
			meta.str(u)
		}
		meta.uvarint(uint64(lr.nfaces))
		for range lr.nfaces {
			var f EnrolledFace // no model: no facts to keep
			if len(s.faces) > 0 {
				f = s.faces[0][k]
			}
			meta.uvarint(uint64(max(f.Quality.Size, 0)))
			meta.f64(f.Quality.Sharpness)
			meta.f64(f.Quality.Score)
			meta.str(f.Quality.Pose)
			meta.time(f.SuspendedUntil)
			k++
		}
	}
	for m := range s.faces {
		if len(s.faces[m]) != nfaces {
			return fmt.Errorf("exclusion: snapshot: %d faces of model %d, the requests have %d", len(s.faces[m]), m, nfaces)
		}
	}

	head := make([]byte, 0, snapshotHead)
	head = append(head, snapshotMagic...)
	head = binary.LittleEndian.AppendUint32(head, snapshotVersion)
	head = binary.LittleEndian.AppendUint32(head, 0)
	head = binary.LittleEndian.AppendUint64(head, s.Seq)
	head = binary.LittleEndian.AppendUint64(head, uint64(s.Created.Unix()))
	head = binary.LittleEndian.AppendUint32(head, uint32(s.Created.Nanosecond()))
	head = binary.LittleEndian.AppendUint32(head, uint32(len(s.Models)))
	head = binary.LittleEndian.AppendUint64(head, uint64(len(s.reqs)))
	head = binary.LittleEndian.AppendUint64(head, uint64(nfaces))
	head = binary.LittleEndian.AppendUint64(head, uint64(len(meta.b)))

	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".snapshot-*")
	if err != nil {
		return fmt.Errorf("exclusion: snapshot: %w", err)
	}
	tmp := f.Name()
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	_, werr := w.Write(head)
	if werr == nil {
		_, werr = w.Write(meta.b)
	}
	if s.data != nil && len(s.data) != len(s.Models) {
		return fmt.Errorf("exclusion: snapshot: descriptors of %d models, %d models", len(s.data), len(s.Models))
	}
	block := make([]byte, 0, 1<<20)
	for m := range s.faces {
		dim := s.Models[m].Dim
		if s.data != nil && len(s.data[m]) != nfaces*dim {
			return fmt.Errorf("exclusion: snapshot: %d numbers of model %s for %d faces", len(s.data[m]), s.Models[m], nfaces)
		}
		for i, fc := range s.faces[m] {
			d := fc.Descriptor
			if s.data != nil {
				d = s.data[m][i*dim : (i+1)*dim]
			}
			if len(d) != s.Models[m].Dim {
				werr = errors.Join(werr, fmt.Errorf("a descriptor of %d numbers, model %s", len(d), s.Models[m]))
				break
			}
			for _, x := range d {
				block = binary.LittleEndian.AppendUint32(block, math.Float32bits(x))
			}
			if len(block) >= 1<<20-4*dim {
				if werr == nil {
					_, werr = w.Write(block)
				}
				block = block[:0]
			}
		}
	}
	if werr == nil {
		_, werr = w.Write(block)
	}
	if werr == nil {
		werr = w.Flush()
	}
	if werr == nil {
		_, werr = f.Write(h.Sum(nil))
	}
	if err := errors.Join(werr, f.Chmod(0o600), f.Sync(), f.Close()); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("exclusion: snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("exclusion: snapshot: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("exclusion: snapshot: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("exclusion: snapshot: %w", err)
	}
	return nil
}

// snapDec reads the metadata fields; the first problem sticks in err.
type snapDec struct {
	b     []byte
	err   error
	poses map[string]string // interned Quality.Pose values
}

func (d *snapDec) fail(what string) {
	if d.err == nil {
		d.err = errors.New(what)
	}
	d.b = nil
}

func (d *snapDec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a number of items that each take at least min bytes.
func (d *snapDec) count(min int) int {
	v := d.uvarint()
	if v > uint64(len(d.b)/min) {
		d.fail("count beyond the metadata")
		return 0
	}
	return int(v)
}

func (d *snapDec) u64() uint64 {
	if len(d.b) < 8 {
		d.fail("truncated metadata")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *snapDec) f64() float64 { return math.Float64frombits(d.u64()) }

func (d *snapDec) str() string {
	n := d.count(1)
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *snapDec) time() time.Time {
	if len(d.b) < 1 {
		d.fail("truncated metadata")
		return time.Time{}
	}
	set := d.b[0]
	d.b = d.b[1:]
	switch set {
	case 0:
		return time.Time{}
	case 1:
		s, ns := int64(d.u64()), d.uvarint()
		if ns >= 1e9 {
			d.fail("bad time")
			return time.Time{}
		}
		return time.Unix(s, int64(ns)).UTC()
	}
	d.fail("bad time")
	return time.Time{}
}

// readSnapshot reads and checks a snapshot file. Any damage is an error
// wrapping ErrCorrupt; a missing file wraps os.ErrNotExist. The faces it
// returns have no ids (0: the caller gives them fresh ones) and no
// descriptors (they are in s.data).
func readSnapshot(path string) (*snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("exclusion: snapshot: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("exclusion: snapshot: %w", err)
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: snapshot %s: %s", ErrCorrupt, path, fmt.Sprintf(format, args...))
	}
	size := fi.Size()
	if size < snapshotHead+sha256.Size || size > maxSnapshot {
		return nil, corrupt("%d bytes", size)
	}
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(io.LimitReader(f, size-sha256.Size), h), 1<<20)
	head := make([]byte, snapshotHead)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, corrupt("%v", err)
	}
	if string(head[:8]) != snapshotMagic {
		return nil, corrupt("not a snapshot")
	}
	le := binary.LittleEndian
	if v := le.Uint32(head[8:]); v != snapshotVersion || le.Uint32(head[12:]) != 0 {
		return nil, corrupt("version %d, not %d", v, snapshotVersion)
	}
	s := &snapshot{Seq: le.Uint64(head[16:])}
	sec, nsec := int64(le.Uint64(head[24:])), le.Uint32(head[32:])
	nmodels, nreqs, nfaces, nmeta := uint64(le.Uint32(head[36:])), le.Uint64(head[40:]), le.Uint64(head[48:]), le.Uint64(head[56:])
	if nsec >= 1e9 {
		return nil, corrupt("bad creation time")
	}
	s.Created = time.Unix(sec, int64(nsec)).UTC()
	body := uint64(size) - snapshotHead - sha256.Size
	if nmeta > body || nmodels > nmeta || nreqs > nmeta || nfaces > body/4 {
		return nil, corrupt("its header claims %d models, %d requests, %d faces in %d bytes", nmodels, nreqs, nfaces, body)
	}
	meta := make([]byte, nmeta)
	if _, err := io.ReadFull(br, meta); err != nil {
		return nil, corrupt("%v", err)
	}
	d := &snapDec{b: meta, poses: map[string]string{}}
	dims := uint64(0)
	for range nmodels {
		m := embed.Model{Name: d.str(), ID: d.str()}
		dim := d.uvarint()
		if d.err != nil || dim == 0 || dim > 1<<16 {
			return nil, corrupt("bad model")
		}
		m.Dim = int(dim)
		m.Threshold, m.WeakReview = d.f64(), d.f64()
		if d.err != nil {
			return nil, corrupt("bad model")
		}
		dims += dim
		s.Models = append(s.Models, m)
	}
	if (dims == 0 && nfaces > 0 && nmodels > 0) || (dims > 0 && nfaces > (body-nmeta)/4/dims) || nfaces*dims*4 != body-nmeta {
		return nil, corrupt("%d faces of %d numbers in %d bytes of descriptors", nfaces, dims, body-nmeta)
	}
	s.reqs = make([]*liveReq, 0, nreqs)
	s.faces = make([][]EnrolledFace, nmodels)
	s.data = make([][]float32, nmodels)
	faces := make([]EnrolledFace, 0, nfaces) // of model 0; the others copy them
	for range nreqs {
		lr := &liveReq{id: d.str(), decided: d.time(), until: d.time()}
		thr := d.f64()
		if n := d.count(1); n > 0 {
			lr.sha = make([]string, n)
			for i := range lr.sha {
				lr.sha[i] = d.str()
			}
		}
		if n := d.count(8); n > 0 {
			lr.hashes = make([]uint64, n)
			for i := range lr.hashes {
				lr.hashes[i] = d.u64()
			}
		}
		if n := d.count(1); n > 0 {
			lr.urls = make([]string, n)
			for i := range lr.urls {
				lr.urls[i] = d.str()
			}
		}
		lr.nfaces = d.count(1 + 8 + 8 + 1 + 1)
		if uint64(len(faces)+lr.nfaces) > nfaces {
			return nil, corrupt("more faces than its header says")
		}
		for range lr.nfaces {
			q := embed.Quality{Size: int(min(d.uvarint(), math.MaxInt32)), Sharpness: d.f64(), Score: d.f64()}
			pose := d.str()
			if p, ok := d.poses[pose]; ok {
				q.Pose = p
			} else if len(d.poses) < 64 {
				d.poses[pose] = pose
				q.Pose = pose
			} else {
				q.Pose = pose
			}
			faces = append(faces, EnrolledFace{RequestID: lr.id, Quality: q, Threshold: thr, SuspendedUntil: d.time()})
		}
		if d.err != nil {
			return nil, corrupt("%v", d.err)
		}
		s.reqs = append(s.reqs, lr)
	}
	if len(d.b) != 0 || uint64(len(faces)) != nfaces {
		return nil, corrupt("%d bytes of metadata left, %d faces of %d", len(d.b), len(faces), nfaces)
	}
	block := make([]byte, 1<<20)
	for m, model := range s.Models {
		if m == 0 {
			s.faces[0] = faces
		} else {
			s.faces[m] = slices.Clone(faces)
		}
		dim := model.Dim
		all := make([]float32, int(nfaces)*dim)
		for off := 0; off < len(all); {
			n := min(len(block)/4, len(all)-off)
			if _, err := io.ReadFull(br, block[:4*n]); err != nil {
				return nil, corrupt("%v", err)
			}
			for i := range n {
				all[off+i] = math.Float32frombits(le.Uint32(block[4*i:]))
			}
			off += n
		}
		s.data[m] = all
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, corrupt("data after the descriptors")
	}
	sum := make([]byte, sha256.Size)
	if _, err := f.ReadAt(sum, size-sha256.Size); err != nil {
		return nil, corrupt("%v", err)
	}
	if !bytes.Equal(h.Sum(nil), sum) {
		return nil, corrupt("fails its checksum")
	}
	return s, nil
}
