package evaluation

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// setFileVersion is the layout version WriteSet writes.
const setFileVersion = 1

// setFile is the on-disk form of an embedded Set.
type setFile struct {
	Version int       `json:"version"`
	Key     string    `json:"key"`
	Name    string    `json:"name"`
	Faces   []Face    `json:"faces"`
	Skipped []Skipped `json:"skipped,omitempty"`
}

// FolderKey identifies what EmbedFolder would read and how: the folder's
// image files (paths, sizes, modification times), the label mode and a
// description of the embedder (its configuration). A cached Set is used
// only under the same key, so a changed folder or embedder re-embeds.
func FolderKey(dir string, mode LabelMode, embedder string) (string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && isImage(p) {
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, fmt.Sprintf("%s %d %d", p, info.Size(), info.ModTime().UnixNano()))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("evaluation: %w", err)
	}
	sort.Strings(files)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", mode, embedder)
	for _, f := range files {
		fmt.Fprintln(h, f)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// WriteSet writes s (and the images skipped) under key, for ReadSet. The
// file holds the evaluation set's descriptors: keep it where the images
// may be kept.
func WriteSet(w io.Writer, key string, s *Set, skipped []Skipped) error {
	return json.NewEncoder(w).Encode(setFile{Version: setFileVersion, Key: key, Name: s.Name, Faces: s.Faces, Skipped: skipped})
}

// ReadSet reads a Set written by WriteSet. It fails with ErrData when the
// file is malformed, of another version, made under another key, holds no
// face, or a face without a person or with a non-finite descriptor.
func ReadSet(r io.Reader, key string) (*Set, []Skipped, error) {
	var f setFile
	if err := json.NewDecoder(io.LimitReader(r, maxDescriptorFile)).Decode(&f); err != nil {
		return nil, nil, fmt.Errorf("%w: set file: %w", ErrData, err)
	}
	switch {
	case f.Version != setFileVersion:
		return nil, nil, fmt.Errorf("%w: set file version %d, want %d", ErrData, f.Version, setFileVersion)
	case f.Key != key:
		return nil, nil, fmt.Errorf("%w: set file made from other images or another embedder", ErrData)
	case len(f.Faces) == 0:
		return nil, nil, fmt.Errorf("%w: set file holds no face", ErrData)
	}
	for i, fc := range f.Faces {
		if fc.Person == "" {
			return nil, nil, fmt.Errorf("%w: set file: face %d has no person", ErrData, i)
		}
		if len(fc.Descriptor) == 0 || len(fc.Descriptor) != len(f.Faces[0].Descriptor) {
			return nil, nil, fmt.Errorf("%w: set file: face %d has %d numbers, face 0 %d", ErrData, i, len(fc.Descriptor), len(f.Faces[0].Descriptor))
		}
		for _, v := range fc.Descriptor {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, nil, fmt.Errorf("%w: set file: face %d: non-finite value", ErrData, i)
			}
		}
	}
	return &Set{Name: f.Name, Faces: f.Faces}, f.Skipped, nil
}
