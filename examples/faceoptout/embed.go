package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
)

// embedFace is one face of cmdEmbed's JSON output.
type embedFace struct {
	Box        [4]int        `json:"box"`
	Landmarks  [][2]int      `json:"landmarks"`
	Descriptor []float32     `json:"descriptor"`
	Quality    embed.Quality `json:"quality"`
}

// embedLine is one JSON line of cmdEmbed: one input file.
type embedLine struct {
	File    string             `json:"file"`
	Faces   []embedFace        `json:"faces"`
	Error   string             `json:"error,omitempty"`
	Timings map[string]float64 `json:"timings_ms"`
}

// cmdEmbed prints the faces and descriptors of image files, one JSON line
// per file (with --json) or one summary line per file, then per-stage
// timings and images/s on stderr.
//
//	faceoptout embed [--json] [--embedder dlib|onnx] [--min-face N] [--detector hog|cnn] FILE...
func (o operator) cmdEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("embed", stderr)
	asJSON := fs.Bool("json", false, "print one JSON line per file")
	ef := embedder.RegisterDefault(fs, o.env, embedder.ONNX)
	if err := fs.Parse(args); err != nil {
		return err
	}

	files := fs.Args()
	if len(files) == 0 {
		return errors.New("usage: faceoptout embed [--json] [--embedder dlib|onnx] [--models DIR] [--min-face N] [--detector hog|cnn] FILE...")
	}
	d, err := ef.New()
	if err != nil {
		return err
	}
	defer d.Close()
	workers := ef.Workers()

	lines := make([]embedLine, len(files))
	done := make([]chan struct{}, len(files))
	for i := range done {
		done[i] = make(chan struct{})
	}
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				lines[i] = embedFile(ctx, d, files[i])
				close(done[i])
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range files {
			select {
			case next <- i:
			case <-ctx.Done():
				for j := i; j < len(files); j++ {
					lines[j] = embedLine{File: files[j], Error: ctx.Err().Error(), Timings: map[string]float64{}}
					close(done[j])
				}
				return
			}
		}
	}()
	enc := json.NewEncoder(stdout)
	total := map[string]float64{}
	nFaces, nErr := 0, 0
	for i := range files {
		<-done[i]
		l := &lines[i]
		for k, v := range l.Timings {
			total[k] += v
		}
		nFaces += len(l.Faces)
		if l.Error != "" {
			nErr++
		}
		if *asJSON {
			if err := enc.Encode(l); err != nil {
				return err
			}
			continue
		}
		if l.Error != "" {
			fmt.Fprintf(stdout, "%s: error: %s\n", l.File, l.Error)
			continue
		}
		fmt.Fprintf(stdout, "%s: %d faces", l.File, len(l.Faces))
		for _, f := range l.Faces {
			fmt.Fprintf(stdout, " %v(%d px, score %.2f)", f.Box, f.Quality.Size, f.Quality.Score)
		}
		fmt.Fprintln(stdout)
	}
	wg.Wait()
	elapsed := time.Since(start)
	n := float64(len(files))
	fmt.Fprintf(stderr, "%d images, %d faces, %d errors in %.2fs: %.2f images/s on %d workers; mean ms per image:",
		len(files), nFaces, nErr, elapsed.Seconds(), n/elapsed.Seconds(), workers)
	for _, k := range []string{"decode", "convert", "wait", "detect", "describe"} {
		fmt.Fprintf(stderr, " %s %.1f", k, total[k]/n)
	}
	fmt.Fprintln(stderr)
	if nErr > 0 {
		return fmt.Errorf("%d of %d images failed", nErr, len(files))
	}
	return nil
}

// embedFile decodes and describes one file.
func embedFile(ctx context.Context, d embedder.Embedder, file string) embedLine {
	l := embedLine{File: file, Faces: []embedFace{}, Timings: map[string]float64{}}
	data, err := os.ReadFile(file)
	if err != nil {
		l.Error = err.Error()
		return l
	}
	faces, st, err := d.FacesBytesWithStats(ctx, data)
	l.Timings["decode"] = ms(st.Decode)
	l.Timings["convert"] = ms(st.Convert)
	l.Timings["wait"] = ms(st.Wait)
	l.Timings["detect"] = ms(st.Detect)
	l.Timings["describe"] = ms(st.Describe)
	if err != nil {
		l.Error = err.Error()
		return l
	}
	for _, f := range faces {
		ef := embedFace{
			Box:        [4]int{f.Box.Min.X, f.Box.Min.Y, f.Box.Max.X, f.Box.Max.Y},
			Descriptor: f.Descriptor[:],
			Quality:    f.Quality,
		}
		for _, p := range f.Landmarks {
			ef.Landmarks = append(ef.Landmarks, [2]int{p.X, p.Y})
		}
		l.Faces = append(l.Faces, ef)
	}
	return l
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
