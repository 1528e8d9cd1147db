package exclusion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"slices"

	"github.com/faceoptout/faceoptout/embed"
)

// MaxFacesPerPhoto bounds the faces kept per submitted photo: the largest
// ones are kept.
const MaxFacesPerPhoto = 32

// QualityGate decides which faces of a submitted photo are usable for
// enrolment. A refused face never blocks; its refusal says why. Zero fields
// mean DefaultQualityGate's; a negative field turns its check off.
type QualityGate struct {
	// MinSize is the smallest usable face side in pixels (embed.Quality.Size).
	MinSize int
	// MinSharpness is the smallest usable variance of the Laplacian of the
	// aligned face chip (embed.Quality.Sharpness).
	MinSharpness float64
}

// DefaultQualityGate returns the gate the zero value means: faces of at
// least 60 pixels whose chip sharpness is at least 20.
func DefaultQualityGate() QualityGate { return QualityGate{MinSize: 60, MinSharpness: 20} }

// resolve fills in the defaults.
func (g QualityGate) resolve() QualityGate {
	def := DefaultQualityGate()
	if g.MinSize == 0 {
		g.MinSize = def.MinSize
	}
	if g.MinSharpness == 0 {
		g.MinSharpness = def.MinSharpness
	}
	return g
}

// Check returns "" for a usable face, or why it is refused.
func (g QualityGate) Check(q embed.Quality) Refusal {
	g = g.resolve()
	if q.Size < g.MinSize {
		return RefusalTooSmall
	}
	if q.Sharpness < g.MinSharpness {
		return RefusalTooBlurry
	}
	return ""
}

// IoU returns the intersection over union of two boxes, in [0, 1].
func IoU(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ia := float64(in.Dx()) * float64(in.Dy())
	u := float64(a.Dx())*float64(a.Dy()) + float64(b.Dx())*float64(b.Dy()) - ia
	if u <= 0 {
		return 0
	}
	return ia / u
}

// bestOverlap returns the index of the face whose box best overlaps box, or
// -1 if none overlaps it.
func bestOverlap(faces []FaceRecord, box image.Rectangle, needDescriptor bool) int {
	best, bi := 0.0, -1
	for i, f := range faces {
		if needDescriptor && len(f.Descriptors) == 0 {
			continue
		}
		if v := IoU(f.Box, box); v > best {
			best, bi = v, i
		}
	}
	return bi
}

// enrolPhoto decodes, hashes and (for face opt-outs) embeds one photo. A
// problem the requester must fix is returned as problem (for the photo's
// field); err is an embedder or context failure.
func (r *Registry) enrolPhoto(ctx context.Context, kind Kind, p Photo) (rec PhotoRecord, problem string, err error) {
	sum := sha256.Sum256(p.Data)
	rec.SHA256 = hex.EncodeToString(sum[:])
	d, derr := decodeImage(p.Data)
	if derr != nil {
		return rec, "not a usable image: " + trimPrefix(derr.Error()), nil
	}
	b := d.img.Bounds()
	rec.Width, rec.Height, rec.Format = b.Dx(), b.Dy(), d.format
	rec.PHash = phash(d.img)
	if kind != FaceOptOut {
		return rec, "", nil
	}
	if len(r.embs) == 0 {
		return rec, "", ErrNoEmbedder
	}
	faces, err := r.embs[0].Faces(ctx, d.img)
	if err != nil {
		return rec, "", fmt.Errorf("exclusion: embedding photo: %w", err)
	}
	if len(faces) == 0 {
		rec.Problem = RefusalNoFace
		return rec, "", nil
	}
	slices.SortStableFunc(faces, func(a, b embed.Face) int { return b.Quality.Size - a.Quality.Size })
	if len(faces) > MaxFacesPerPhoto {
		faces = faces[:MaxFacesPerPhoto]
	}
	others := make([][]embed.Face, len(r.embs)-1)
	for i, e := range r.embs[1:] {
		if others[i], err = e.Faces(ctx, d.img); err != nil {
			return rec, "", fmt.Errorf("exclusion: embedding photo with %s: %w", e.Model(), err)
		}
	}
	usable := 0
	for _, f := range faces {
		fr := FaceRecord{Box: f.Box, Quality: f.Quality, Refusal: r.cfg.Quality.Check(f.Quality)}
		if fr.Refusal == "" {
			fr.Descriptors, fr.Refusal = r.describeAll(f, others)
		}
		if fr.Refusal == "" {
			usable++
		}
		rec.Faces = append(rec.Faces, fr)
	}
	if p.Face != nil {
		i := bestOverlap(rec.Faces, *p.Face, false)
		if i < 0 {
			return rec, fmt.Sprintf("the picked box %v overlaps none of the faces found: %s", *p.Face, boxes(rec.Faces)), nil
		}
		if rf := rec.Faces[i].Refusal; rf != "" {
			return rec, fmt.Sprintf("the picked face at %v is refused: %s", rec.Faces[i].Box, rf), nil
		}
		pick(&rec, i)
		return rec, "", nil
	}
	switch usable {
	case 0:
		rec.Problem = rec.Faces[0].Refusal
	case 1:
		for i := range rec.Faces {
			if rec.Faces[i].Refusal == "" {
				pick(&rec, i)
			}
		}
	default:
		rec.Problem = RefusalSeveralFaces
		for i := range rec.Faces {
			if rec.Faces[i].Refusal == "" {
				rec.Faces[i].Refusal = RefusalNotPicked
			}
		}
	}
	return rec, "", nil
}

// minModelIoU is the smallest overlap between the boxes two models give one
// face for them to count as the same face.
const minModelIoU = 0.5

// describeAll returns the descriptors of face f (found by the registry's
// first embedder) from every model: its own, and from each other model's
// faces (others[i] for r.embs[i+1]) the one whose box best overlaps f's. A
// face some model did not find is refused with RefusalModelMissed.
func (r *Registry) describeAll(f embed.Face, others [][]embed.Face) (map[string]embed.Descriptor, Refusal) {
	out := map[string]embed.Descriptor{r.embs[0].Model().ID: slices.Clone(f.Descriptor)}
	for i, faces := range others {
		best, bi := 0.0, -1
		for j := range faces {
			if v := IoU(faces[j].Box, f.Box); v > best {
				best, bi = v, j
			}
		}
		if bi < 0 || best < minModelIoU {
			return nil, RefusalModelMissed
		}
		out[r.embs[i+1].Model().ID] = slices.Clone(faces[bi].Descriptor)
	}
	return out, ""
}

// pick enrols face i of rec and marks the photo's other usable faces as not
// picked (their descriptors stay while the request is pending).
func pick(rec *PhotoRecord, i int) {
	for j := range rec.Faces {
		f := &rec.Faces[j]
		if j == i {
			f.Enrolled, f.Refusal = true, ""
			continue
		}
		if f.Enrolled || f.Refusal == "" {
			f.Enrolled, f.Refusal = false, RefusalNotPicked
		}
	}
	rec.Problem = ""
}

// describe says, for a requester, why no face of rec is enrolled.
func describe(rec *PhotoRecord) string {
	switch rec.Problem {
	case RefusalNoFace:
		return "no face found"
	case RefusalSeveralFaces:
		return "several faces; pick one by its box: " + boxes(rec.Faces)
	}
	return "no usable face: " + refusals(rec.Faces)
}

func boxes(fs []FaceRecord) string {
	s := ""
	for i, f := range fs {
		if i > 0 {
			s += ", "
		}
		s += f.Box.String()
	}
	return s
}

func refusals(fs []FaceRecord) string {
	s := ""
	for i, f := range fs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%v %s (size %d, sharpness %.0f)", f.Box, f.Refusal, f.Quality.Size, f.Quality.Sharpness)
	}
	return s
}

func trimPrefix(s string) string {
	for _, p := range []string{"exclusion: ", "imageutil: "} {
		if len(s) > len(p) && s[:len(p)] == p {
			s = s[len(p):]
		}
	}
	return s
}
