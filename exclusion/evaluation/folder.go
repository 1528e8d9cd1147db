package evaluation

import (
	"context"
	"fmt"
	"image"
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
	return EmbedFolderFunc(ctx, func(ctx context.Context, img image.Image) ([]embed.Face, [][]embed.Descriptor, error) {
		faces, err := emb.Faces(ctx, img)
		return faces, nil, err
	}, dir, mode)
}

// FacesFunc finds and describes the faces of an image; extra, when not
// nil, holds each face's extra descriptors (Face.Extra).
type FacesFunc func(ctx context.Context, img image.Image) (faces []embed.Face, extra [][]embed.Descriptor, err error)

// EmbedFolderFunc is EmbedFolder with the faces found by faces, whose extra
// descriptors become each Face's Extra.
func EmbedFolderFunc(ctx context.Context, faces FacesFunc, dir string, mode LabelMode) (*Set, []Skipped, error) {
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
		found, extra, err := faces(ctx, img.RGB)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, err
			}
			skipped = append(skipped, Skipped{it.path, err.Error()})
			continue
		}
		if len(found) == 0 {
			skipped = append(skipped, Skipped{it.path, "no face"})
			continue
		}
		// The largest face, as embed.Largest picks it.
		best := 0
		for i := range found {
			if found[i].Quality.Size > found[best].Quality.Size {
				best = i
			}
		}
		fc := Face{Person: it.person, Source: it.path, Descriptor: found[best].Descriptor, Quality: found[best].Quality}
		if best < len(extra) {
			fc.Extra = extra[best]
		}
		s.Faces = append(s.Faces, fc)
	}
	if len(s.Faces) == 0 {
		return nil, skipped, fmt.Errorf("%w: %s: no faces found", ErrData, dir)
	}
	return s, skipped, nil
}
