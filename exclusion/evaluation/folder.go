package evaluation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/imageutil"
)

// LabelMode says how EmbedFolder labels images with people.
type LabelMode string

const (
	// LabelFromDir: one subfolder per person (faces/bbt); images directly
	// in the folder are ignored.
	LabelFromDir LabelMode = "dir"
	// LabelFromFilename: a flat folder where the file name is the person
	// followed by optional digits (faces/idols: jimin.jpg, jimin2.jpg).
	LabelFromFilename LabelMode = "filename"
)

// Skipped is an image EmbedFolder left out, and why.
type Skipped struct {
	File   string
	Reason string
}

// isImage reports whether name has an image extension EmbedFolder reads.
func isImage(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff":
		return true
	}
	return false
}

// PersonFromFilename returns the person label of a file in a flat folder:
// the base name without extension and trailing digits ("jimin2.jpg" ->
// "jimin").
func PersonFromFilename(name string) string {
	b := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	return strings.TrimRight(b, "0123456789")
}

// EmbedFolder decodes every image of dir (imageutil.Decode, default limits)
// labelled by mode, and describes its largest face with emb: the same
// pipeline the registry enrols with. Images without a face, or that fail
// to decode, are skipped and listed.
func EmbedFolder(ctx context.Context, emb embed.Embedder, dir string, mode LabelMode) (*Set, []Skipped, error) {
	type item struct{ path, person string }
	var items []item
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluation: %w", err)
	}
	switch mode {
	case LabelFromDir:
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			sub, err := os.ReadDir(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, nil, fmt.Errorf("evaluation: %w", err)
			}
			for _, f := range sub {
				if !f.IsDir() && isImage(f.Name()) {
					items = append(items, item{filepath.Join(dir, e.Name(), f.Name()), e.Name()})
				}
			}
		}
	case LabelFromFilename:
		for _, e := range ents {
			if !e.IsDir() && isImage(e.Name()) {
				items = append(items, item{filepath.Join(dir, e.Name()), PersonFromFilename(e.Name())})
			}
		}
	default:
		return nil, nil, fmt.Errorf("%w: label mode %q (want dir or filename)", ErrData, mode)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].path < items[j].path })
	s := &Set{Name: dir}
	var skipped []Skipped
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		f, err := os.Open(it.path)
		if err != nil {
			return nil, nil, fmt.Errorf("evaluation: %w", err)
		}
		img, err := imageutil.Decode(f)
		f.Close()
		if err != nil {
			skipped = append(skipped, Skipped{it.path, err.Error()})
			continue
		}
		faces, err := emb.Faces(ctx, img.RGB)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, err
			}
			skipped = append(skipped, Skipped{it.path, err.Error()})
			continue
		}
		fc, err := embed.Largest(faces)
		if errors.Is(err, embed.ErrNoFace) {
			skipped = append(skipped, Skipped{it.path, "no face"})
			continue
		}
		s.Faces = append(s.Faces, Face{Person: it.person, Source: it.path, Descriptor: fc.Descriptor, Quality: fc.Quality})
	}
	if len(s.Faces) == 0 {
		return nil, skipped, fmt.Errorf("%w: %s: no faces found", ErrData, dir)
	}
	return s, skipped, nil
}
