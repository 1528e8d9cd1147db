package onnx

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Point is a position in pixels; integer coordinates are pixel centres.
type Point struct{ X, Y float64 }

// Affine maps (x, y) to (M[0]x + M[1]y + M[2], M[3]x + M[4]y + M[5]).
type Affine [6]float64

// Apply maps p.
func (a Affine) Apply(p Point) Point {
	return Point{a[0]*p.X + a[1]*p.Y + a[2], a[3]*p.X + a[4]*p.Y + a[5]}
}

// Invert returns the inverse map, or ErrAlign when a is singular.
func (a Affine) Invert() (Affine, error) {
	det := a[0]*a[4] - a[1]*a[3]
	if !(math.Abs(det) > 1e-12) || math.IsInf(det, 0) {
		return Affine{}, fmt.Errorf("%w: singular transform (determinant %g)", ErrAlign, det)
	}
	i0, i1, i3, i4 := a[4]/det, -a[1]/det, -a[3]/det, a[0]/det
	return Affine{i0, i1, -(i0*a[2] + i1*a[5]), i3, i4, -(i3*a[2] + i4*a[5])}, nil
}

// FitSimilarity returns the similarity transform (rotation, uniform scale
// and translation: 4 degrees of freedom, no reflection or shear) that maps
// src onto dst with the least sum of squared distances. It needs at least
// two distinct source points.
func FitSimilarity(src, dst []Point) (Affine, error) {
	return fitSimilarity(src, dst, nil)
}

// fitSimilarity is FitSimilarity with point i's squared distance weighted
// by w[i] (all 1 when w is nil; weights are positive).
func fitSimilarity(src, dst []Point, w []float64) (Affine, error) {
	n := len(src)
	if n < 2 || len(dst) != n || (w != nil && len(w) != n) {
		return Affine{}, fmt.Errorf("%w: %d source and %d template points", ErrAlign, len(src), len(dst))
	}
	for i := range n {
		if !finite(src[i].X, src[i].Y, dst[i].X, dst[i].Y) {
			return Affine{}, fmt.Errorf("%w: point %d is not finite", ErrAlign, i)
		}
	}
	sw := func(i int) float64 {
		if w == nil {
			return 1
		}
		return math.Sqrt(w[i])
	}
	// Unknowns (a, b, tx, ty): x' = a x - b y + tx, y' = b x + a y + ty.
	// Centre the source points first, for a well-conditioned system.
	var cx, cy float64
	for _, p := range src {
		cx += p.X
		cy += p.Y
	}
	cx /= float64(n)
	cy /= float64(n)
	var spread float64
	for _, p := range src {
		spread += (p.X-cx)*(p.X-cx) + (p.Y-cy)*(p.Y-cy)
	}
	if !(spread > 1e-9) {
		return Affine{}, fmt.Errorf("%w: the landmarks coincide", ErrAlign)
	}
	A := mat.NewDense(2*n, 4, nil)
	b := mat.NewVecDense(2*n, nil)
	for i := range n {
		x, y, k := src[i].X-cx, src[i].Y-cy, sw(i)
		A.SetRow(2*i, []float64{k * x, -k * y, k, 0})
		A.SetRow(2*i+1, []float64{k * y, k * x, 0, k})
		b.SetVec(2*i, k*dst[i].X)
		b.SetVec(2*i+1, k*dst[i].Y)
	}
	var sol mat.VecDense
	if err := sol.SolveVec(A, b); err != nil {
		return Affine{}, fmt.Errorf("%w: least squares: %v", ErrAlign, err)
	}
	a, bb, tx, ty := sol.AtVec(0), sol.AtVec(1), sol.AtVec(2), sol.AtVec(3)
	// Undo the centring: x - cx.
	m := Affine{a, -bb, tx - a*cx + bb*cy, bb, a, ty - bb*cx - a*cy}
	if !finite(m[:]...) {
		return Affine{}, fmt.Errorf("%w: transform is not finite", ErrAlign)
	}
	return m, nil
}

// robustRounds is the number of reweighted fits fitSimilarityRobust makes
// after the first.
const robustRounds = 4

// fitSimilarityRobust is fitSimilarity made robust to a misplaced point by
// iteratively reweighted least squares: after each fit, point i's weight
// is w[i] (1 when w is nil) times 1/(1+(r/scale)^2), r its residual (in
// dst's units), and the fit is repeated.
func fitSimilarityRobust(src, dst []Point, w []float64, scale float64) (Affine, error) {
	m, err := fitSimilarity(src, dst, w)
	if err != nil {
		return m, err
	}
	rw := make([]float64, len(src))
	for range robustRounds {
		for i, p := range src {
			q := m.Apply(p)
			r := math.Hypot(q.X-dst[i].X, q.Y-dst[i].Y) / scale
			rw[i] = 1 / (1 + r*r)
			if w != nil {
				rw[i] *= w[i]
			}
		}
		if m, err = fitSimilarity(src, dst, rw); err != nil {
			return m, err
		}
	}
	return m, nil
}

func finite(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// Warp samples a w x h packed-RGB image (pixels outside it are black)
// into a ow x oh chip: chip pixel (u, v) takes the exact bilinear
// interpolation of the source at inv(u, v), inv mapping chip coordinates
// to source coordinates. The result is packed float32 RGB in [0, 255],
// rows top to bottom.
func Warp(src []byte, w, h int, inv Affine, ow, oh int) []float32 {
	out := make([]float32, 3*ow*oh)
	var px [3]float32
	for v := range oh {
		for u := range ow {
			sx := inv[0]*float64(u) + inv[1]*float64(v) + inv[2]
			sy := inv[3]*float64(u) + inv[4]*float64(v) + inv[5]
			bilinear(src, w, h, sx, sy, &px)
			o := out[3*(v*ow+u):]
			o[0], o[1], o[2] = px[0], px[1], px[2]
		}
	}
	return out
}

// bilinear sets px to the exact bilinear interpolation of the w x h
// packed-RGB image src at (sx, sy), pixels outside it black.
func bilinear(src []byte, w, h int, sx, sy float64, px *[3]float32) {
	*px = [3]float32{}
	fx0, fy0 := math.Floor(sx), math.Floor(sy)
	if !(fx0 >= -2 && fy0 >= -2 && fx0 <= float64(w)+1 && fy0 <= float64(h)+1) { // NaN too
		return // entirely outside: black
	}
	x0, y0 := int(fx0), int(fy0)
	ax, ay := sx-fx0, sy-fy0
	if x0 >= 0 && y0 >= 0 && x0+1 < w && y0+1 < h {
		p := src[3*(y0*w+x0):]
		q := src[3*((y0+1)*w+x0):]
		for c := range 3 {
			top := float64(p[c])*(1-ax) + float64(p[3+c])*ax
			bot := float64(q[c])*(1-ax) + float64(q[3+c])*ax
			px[c] = float32(top*(1-ay) + bot*ay)
		}
		return
	}
	at := func(x, y int, c int) float64 {
		if x < 0 || y < 0 || x >= w || y >= h {
			return 0
		}
		return float64(src[3*(y*w+x)+c])
	}
	for c := range 3 {
		top := at(x0, y0, c)*(1-ax) + at(x0+1, y0, c)*ax
		bot := at(x0, y0+1, c)*(1-ax) + at(x0+1, y0+1, c)*ax
		px[c] = float32(top*(1-ay) + bot*ay)
	}
}

// WarpArea is Warp that averages k x k bilinear samples per chip pixel,
// spread evenly over the pixel's square (k <= 1 is Warp): with k at least
// the number of source pixels per chip pixel, a downscale reads every
// source pixel instead of aliasing. The samples are taken one at a time:
// no k-times larger chip is allocated.
func WarpArea(src []byte, w, h int, inv Affine, ow, oh, k int) []float32 {
	return warpArea(src, w, h, inv, ow, oh, k, false)
}

// warpArea is WarpArea; with edge, samples outside the image take the
// nearest edge pixel's value instead of black.
func warpArea(src []byte, w, h int, inv Affine, ow, oh, k int, edge bool) []float32 {
	sample := bilinear
	if edge {
		sample = func(src []byte, w, h int, sx, sy float64, px *[3]float32) {
			bilinear(src, w, h, math.Max(0, math.Min(sx, float64(w-1))), math.Max(0, math.Min(sy, float64(h-1))), px)
		}
	}
	if k <= 1 {
		if !edge {
			return Warp(src, w, h, inv, ow, oh)
		}
		k = 1
	}
	// Sample (U, V) of the k-times larger chip sits at
	// ((U+0.5)/k - 0.5, (V+0.5)/k - 0.5) of the chip.
	fk := float64(k)
	c := 0.5/fk - 0.5
	big := Affine{
		inv[0] / fk, inv[1] / fk, inv[0]*c + inv[1]*c + inv[2],
		inv[3] / fk, inv[4] / fk, inv[3]*c + inv[4]*c + inv[5],
	}
	out := make([]float32, 3*ow*oh)
	norm := 1 / float64(k*k)
	var px [3]float32
	for v := range oh {
		for u := range ow {
			var sum [3]float64
			for j := range k {
				fv := float64(v*k + j)
				for i := range k {
					fu := float64(u*k + i)
					sample(src, w, h, big[0]*fu+big[1]*fv+big[2], big[3]*fu+big[4]*fv+big[5], &px)
					sum[0] += float64(px[0])
					sum[1] += float64(px[1])
					sum[2] += float64(px[2])
				}
			}
			o := out[3*(v*ow+u):]
			o[0], o[1], o[2] = float32(sum[0]*norm), float32(sum[1]*norm), float32(sum[2]*norm)
		}
	}
	return out
}

// areaSamples is WarpArea's k for inv: the source pixels per chip pixel,
// rounded up, at most 4 (1 when the chip is not a downscale).
func areaSamples(inv Affine) int {
	s := math.Sqrt(math.Abs(inv[0]*inv[4] - inv[1]*inv[3]))
	if !(s > 1.25) {
		return 1
	}
	return min(4, int(math.Ceil(s)))
}

// sourceBounds returns the smallest integer rectangle [x0, x1) x [y0, y1)
// of source pixels that a ow x oh chip warped with inv reads.
func sourceBounds(inv Affine, ow, oh int) (x0, y0, x1, y1 float64) {
	x0, y0 = math.Inf(1), math.Inf(1)
	x1, y1 = math.Inf(-1), math.Inf(-1)
	for _, c := range []Point{{0, 0}, {float64(ow - 1), 0}, {0, float64(oh - 1)}, {float64(ow - 1), float64(oh - 1)}} {
		p := inv.Apply(c)
		x0, y0 = math.Min(x0, p.X), math.Min(y0, p.Y)
		x1, y1 = math.Max(x1, p.X), math.Max(y1, p.Y)
	}
	// One more chip pixel each way covers WarpArea's samples.
	m := math.Sqrt(math.Abs(inv[0]*inv[4]-inv[1]*inv[3])) + 1
	return math.Floor(x0 - m), math.Floor(y0 - m), math.Floor(x1+m) + 2, math.Floor(y1+m) + 2
}

// laplacianVariance is the variance of the Laplacian of the chip's luma
// (as embed's Quality.Sharpness, here on the model's chip).
func laplacianVariance(chip []float32, w, h int) float64 {
	if w < 3 || h < 3 {
		return 0
	}
	luma := make([]float64, w*h)
	for i := range luma {
		luma[i] = 0.299*float64(chip[3*i]) + 0.587*float64(chip[3*i+1]) + 0.114*float64(chip[3*i+2])
	}
	var sum, sum2 float64
	n := 0
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			v := luma[i-1] + luma[i+1] + luma[i-w] + luma[i+w] - 4*luma[i]
			sum += v
			sum2 += v * v
			n++
		}
	}
	mean := sum / float64(n)
	return sum2/float64(n) - mean*mean
}
