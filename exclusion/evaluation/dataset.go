package evaluation

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/faceoptout/faceoptout/embed"
)

// ErrData reports an unusable input set: a malformed descriptor file, a
// folder without labelled faces, or too few people or photos for a protocol.
var ErrData = errors.New("evaluation: bad data")

// Face is one labelled face of an evaluation set.
type Face struct {
	// Person labels the face's identity; faces with equal labels are the
	// same person.
	Person string
	// Source names where the face came from (a file name, or the
	// descriptor file and its position).
	Source string
	// Descriptor is the face's 128-D descriptor.
	Descriptor embed.Descriptor
	// Quality is the face's detection quality (zero for descriptor files).
	Quality embed.Quality
	// Extra holds more descriptors of the same photo (augmented views),
	// enrolled beside Descriptor when the photo is enrolled; a probe uses
	// Descriptor only.
	Extra []embed.Descriptor `json:",omitempty"`
}

// Set is a labelled set of faces.
type Set struct {
	Name  string
	Faces []Face
}

// People returns the set's person labels, sorted, and the indices of each
// person's faces in s.Faces.
func (s *Set) People() ([]string, map[string][]int) {
	by := make(map[string][]int)
	for i, f := range s.Faces {
		by[f.Person] = append(by[f.Person], i)
	}
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, by
}

// maxDescriptorFile bounds a descriptor file read by LoadDescriptorFile.
const maxDescriptorFile = 512 << 20

// descriptorFile is the layout of go-face's idols.json: idols with ids and
// names, faces with a base64 descriptor (128 little-endian float32) and the
// idol's id.
type descriptorFile struct {
	Idols []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Band string `json:"band_name"`
	} `json:"idols"`
	Faces []struct {
		Descriptor string `json:"descriptor"`
		IdolID     string `json:"idol_id"`
	} `json:"faces"`
}

// LoadDescriptors reads a descriptor file in the layout of go-face's
// idols.json: {"idols":[{"id","name","band_name"}],"faces":[{"descriptor":
// base64 of 128 little-endian float32, "idol_id"}]}. Faces are labelled by
// idol id. Every face must reference a listed idol and hold 128 finite
// numbers.
func LoadDescriptors(r io.Reader, name string) (*Set, error) {
	var f descriptorFile
	dec := json.NewDecoder(io.LimitReader(r, maxDescriptorFile))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrData, name, err)
	}
	ids := make(map[string]bool, len(f.Idols))
	for _, id := range f.Idols {
		ids[id.ID] = true
	}
	s := &Set{Name: name, Faces: make([]Face, 0, len(f.Faces))}
	for i, fc := range f.Faces {
		if !ids[fc.IdolID] {
			return nil, fmt.Errorf("%w: %s: face %d: unknown idol_id %q", ErrData, name, i, fc.IdolID)
		}
		raw, err := base64.StdEncoding.DecodeString(fc.Descriptor)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: face %d: %w", ErrData, name, i, err)
		}
		if len(raw) != 4*embed.DlibDim {
			return nil, fmt.Errorf("%w: %s: face %d: descriptor has %d bytes, want %d", ErrData, name, i, len(raw), 4*embed.DlibDim)
		}
		d := make(embed.Descriptor, embed.DlibDim)
		for j := range d {
			v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%w: %s: face %d: non-finite value", ErrData, name, i)
			}
			d[j] = v
		}
		s.Faces = append(s.Faces, Face{Person: fc.IdolID, Source: fmt.Sprintf("%s#%d", name, i), Descriptor: d})
	}
	if len(s.Faces) == 0 {
		return nil, fmt.Errorf("%w: %s: no faces", ErrData, name)
	}
	return s, nil
}

// LoadDescriptorFile opens path and calls LoadDescriptors.
func LoadDescriptorFile(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("evaluation: %w", err)
	}
	defer f.Close()
	return LoadDescriptors(f, path)
}
