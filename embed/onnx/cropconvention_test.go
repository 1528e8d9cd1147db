package onnx_test

import (
	"context"
	"flag"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/imageutil"
)

// cropDetect names fr_detect.onnx (npm faceplugin-face-recognition-js@0.0.1,
// package/model/fr_detect.onnx) for TestCropConvention, which measures the
// constants of onnx.DetectCrop and onnx.FRLandmarkLayout:
//
//	go test ./embed/onnx -run TestCropConvention -v -args -crop.detect /path/to/fr_detect.onnx
var cropDetect = flag.String("crop.detect", "", "TestCropConvention: path of fr_detect.onnx")

// TestCropConvention measures, on the shared photo sets, how the crop
// fr_landmark.onnx's own pipeline feeds it (the square of side the
// fr_detect.onnx box's height around that box's centre) sits relative to
// dlib's HOG box, and where the landmark model's 68 points fall in that
// crop. It prints a table; it checks nothing beyond running.
func TestCropConvention(t *testing.T) {
	if *cropDetect == "" {
		t.Skip("-crop.detect names fr_detect.onnx")
	}
	cfg := onnxConfig(t)
	cfg.Detection.Workers = 1
	e, err := onnx.New(cfg) // loads the runtime
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const dw, dh = 320, 240
	din, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 3, dh, dw))
	scores, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 4420, 2))
	boxes, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 4420, 4))
	det, err := ort.NewAdvancedSession(*cropDetect, []string{"input"}, []string{"scores", "boxes"},
		[]ort.Value{din}, []ort.Value{scores, boxes}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer det.Destroy()
	lsize := cfg.LandmarkModel.Size
	lin, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 1, int64(lsize), int64(lsize)))
	lout, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 136))
	lm, err := ort.NewAdvancedSession(filepath.Join(cfg.ModelsDir, cfg.LandmarkModel.File), []string{"input"}, []string{"output"},
		[]ort.Value{lin}, []ort.Value{lout}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lm.Destroy()

	// sample is bilinear with pixel centres aligned, clamped at the edges.
	sample := func(img *image.NRGBA, x, y float64, c int) float64 {
		b := img.Bounds()
		x = math.Max(0, math.Min(x, float64(b.Dx()-1)))
		y = math.Max(0, math.Min(y, float64(b.Dy()-1)))
		x0, y0 := int(x), int(y)
		x1, y1 := min(x0+1, b.Dx()-1), min(y0+1, b.Dy()-1)
		ax, ay := x-float64(x0), y-float64(y0)
		p := func(x, y int) float64 { return float64(img.Pix[img.PixOffset(x+b.Min.X, y+b.Min.Y)+c]) }
		return (p(x0, y0)*(1-ax)+p(x1, y0)*ax)*(1-ay) + (p(x0, y1)*(1-ax)+p(x1, y1)*ax)*ay
	}
	names := []string{"n", "crop centre x - box centre x (box widths)", "crop centre y - box centre y", "crop side (box widths)",
		"points' mean x (crop sides)", "points' mean y", "points' RMS spread"}
	var rows []string
	all := make([][]float64, len(names))
	for _, set := range []string{"idols", "eastasian", "bbt"} {
		vals := make([][]float64, len(names))
		for _, ph := range loadSet(t, set) {
			data, err := os.ReadFile(ph.path)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := imageutil.DecodeBytes(data)
			if err != nil {
				continue
			}
			img := dec.RGB
			faces, err := e.Faces(context.Background(), img)
			if err != nil || len(faces) == 0 {
				continue
			}
			W, H := float64(img.Bounds().Dx()), float64(img.Bounds().Dy())
			in := din.GetData()
			for v := range dh {
				for u := range dw {
					for c := range 3 {
						in[c*dw*dh+v*dw+u] = float32((sample(img, (float64(u)+0.5)*W/dw-0.5, (float64(v)+0.5)*H/dh-0.5, c) - 127) / 128)
					}
				}
			}
			if err := det.Run(); err != nil {
				t.Fatal(err)
			}
			sd, bd := scores.GetData(), boxes.GetData()
			for _, f := range faces {
				hb := f.Box
				best, bestIoU := -1, 0.3
				for i := range 4420 {
					if sd[2*i+1] < 0.65 {
						continue
					}
					r := image.Rect(int(float64(bd[4*i])*W), int(float64(bd[4*i+1])*H), int(float64(bd[4*i+2])*W), int(float64(bd[4*i+3])*H))
					is := r.Intersect(hb)
					iou := float64(is.Dx()*is.Dy()) / float64(r.Dx()*r.Dy()+hb.Dx()*hb.Dy()-is.Dx()*is.Dy())
					if iou > bestIoU {
						best, bestIoU = i, iou
					}
				}
				if best < 0 {
					continue
				}
				x1, y1 := float64(bd[4*best])*W, float64(bd[4*best+1])*H
				x2, y2 := float64(bd[4*best+2])*W, float64(bd[4*best+3])*H
				side, cx, cy := y2-y1, (x1+x2)/2, (y1+y2)/2
				hw := float64(hb.Dx())
				hcx, hcy := float64(hb.Min.X+hb.Max.X)/2, float64(hb.Min.Y+hb.Max.Y)/2
				ld := lin.GetData()
				for v := range lsize {
					for u := range lsize {
						sx := cx - side/2 + (float64(u)+0.5)*side/float64(lsize) - 0.5
						sy := cy - side/2 + (float64(v)+0.5)*side/float64(lsize) - 0.5
						g := 0.299*sample(img, sx, sy, 0) + 0.587*sample(img, sx, sy, 1) + 0.114*sample(img, sx, sy, 2)
						ld[v*lsize+u] = float32(g / 256)
					}
				}
				if err := lm.Run(); err != nil {
					t.Fatal(err)
				}
				lo := lout.GetData()
				var mx, my, ss float64
				for k := range 68 {
					mx += float64(lo[2*k]) / 68
					my += float64(lo[2*k+1]) / 68
				}
				for k := range 68 {
					ss += math.Pow(float64(lo[2*k])-mx, 2) + math.Pow(float64(lo[2*k+1])-my, 2)
				}
				for i, v := range []float64{0, (cx - hcx) / hw, (cy - hcy) / hw, side / hw, mx, my, math.Sqrt(ss / 68)} {
					vals[i] = append(vals[i], v)
					all[i] = append(all[i], v)
				}
			}
		}
		rows = append(rows, cropRow(set, vals))
	}
	rows = append(rows, cropRow("all", all))
	var b strings.Builder
	fmt.Fprintf(&b, "\n| set | faces matched |")
	for _, n := range names[1:] {
		fmt.Fprintf(&b, " %s: mean / median |", n)
	}
	fmt.Fprintf(&b, "\n| --- | --- |%s\n", strings.Repeat(" --- |", len(names)-1))
	for _, r := range rows {
		b.WriteString(r)
	}
	t.Log(b.String())
}

// cropRow is one table row: the count, then each value's mean and median.
func cropRow(set string, vals [][]float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s | %d |", set, len(vals[0]))
	for _, v := range vals[1:] {
		w := append([]float64(nil), v...)
		sort.Float64s(w)
		var m float64
		for _, x := range w {
			m += x / float64(len(w))
		}
		med := math.NaN()
		if len(w) > 0 {
			med = w[len(w)/2]
		}
		fmt.Fprintf(&b, " %.3f / %.3f |", m, med)
	}
	b.WriteString("\n")
	return b.String()
}
