package onnx

import (
	"errors"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"
)

func TestFitSimilarity(t *testing.T) {
	tmpl := []Point{{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041}}
	tests := []struct {
		name             string
		scale, angle     float64
		tx, ty           float64
		noise            float64
		wantErrTolerance float64
	}{
		{"identity", 1, 0, 0, 0, 0, 1e-9},
		{"scaled, rotated, moved", 2.7, 0.4, 310, -25, 0, 1e-9},
		{"upside down", 0.3, math.Pi, 12, 900, 0, 1e-9},
		{"noisy points", 1.9, -0.2, 40, 60, 0.5, 0.35},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// src = T^-1(template) with T(x) = s R x + t, so that fitting
			// src onto the template gives back T.
			a, b := tt.scale*math.Cos(tt.angle), tt.scale*math.Sin(tt.angle)
			want := Affine{a, -b, tt.tx, b, a, tt.ty}
			inv, err := want.Invert()
			if err != nil {
				t.Fatal(err)
			}
			src := make([]Point, len(tmpl))
			for i, p := range tmpl {
				src[i] = inv.Apply(p)
				src[i].X += tt.noise * rng.NormFloat64()
				src[i].Y += tt.noise * rng.NormFloat64()
			}
			got, err := FitSimilarity(src, tmpl)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				tol := tt.wantErrTolerance * math.Max(1, math.Abs(want[i]))
				if i == 2 || i == 5 {
					tol = tt.wantErrTolerance * 100 // translations absorb the noise
				}
				if math.Abs(got[i]-want[i]) > tol {
					t.Errorf("M[%d] = %v, want %v (within %v)", i, got[i], want[i], tol)
				}
			}
			// A similarity: no shear, no reflection.
			if math.Abs(got[0]-got[4]) > 1e-9 || math.Abs(got[1]+got[3]) > 1e-9 {
				t.Errorf("%v is not a similarity", got)
			}
		})
	}
}

// TestFitSimilarityLeastSquares checks the fit against the normal
// equations: at the optimum the residuals are orthogonal to every
// parameter's direction.
func TestFitSimilarityLeastSquares(t *testing.T) {
	src := []Point{{10, 12}, {40, 9}, {27, 30}, {14, 45}, {39, 47}}
	dst := []Point{{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041}}
	m, err := FitSimilarity(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	var ga, gb, gx, gy float64
	for i, p := range src {
		q := m.Apply(p)
		rx, ry := q.X-dst[i].X, q.Y-dst[i].Y
		ga += rx*p.X + ry*p.Y
		gb += -rx*p.Y + ry*p.X
		gx += rx
		gy += ry
	}
	for name, g := range map[string]float64{"a": ga, "b": gb, "tx": gx, "ty": gy} {
		if math.Abs(g) > 1e-8 {
			t.Errorf("gradient along %s = %v, want 0", name, g)
		}
	}
}

func TestFitSimilarityErrors(t *testing.T) {
	tmpl := []Point{{1, 1}, {5, 1}, {3, 3}}
	tests := []struct {
		name string
		src  []Point
		dst  []Point
	}{
		{"coinciding points", []Point{{2, 2}, {2, 2}, {2, 2}}, tmpl},
		{"too few points", []Point{{2, 2}}, tmpl[:1]},
		{"length mismatch", []Point{{2, 2}, {3, 3}}, tmpl},
		{"NaN", []Point{{math.NaN(), 2}, {3, 3}, {4, 4}}, tmpl},
		{"Inf", []Point{{math.Inf(1), 2}, {3, 3}, {4, 4}}, tmpl},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := FitSimilarity(tt.src, tt.dst); !errors.Is(err, ErrAlign) {
				t.Fatalf("err = %v, want ErrAlign", err)
			}
		})
	}
	if _, err := (Affine{}).Invert(); !errors.Is(err, ErrAlign) {
		t.Fatalf("singular Invert: err = %v, want ErrAlign", err)
	}
}

// referenceWarp is the textbook bilinear sampling, pixel by pixel through
// image.Image, black outside: the reference Warp must match.
func referenceWarp(img image.Image, inv Affine, ow, oh int) []float32 {
	b := img.Bounds()
	px := func(x, y int) [3]float64 {
		if !(image.Pt(x, y).In(b)) {
			return [3]float64{}
		}
		c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
		return [3]float64{float64(c.R), float64(c.G), float64(c.B)}
	}
	out := make([]float32, 3*ow*oh)
	for v := range oh {
		for u := range ow {
			p := inv.Apply(Point{float64(u), float64(v)})
			x0, y0 := int(math.Floor(p.X)), int(math.Floor(p.Y))
			ax, ay := p.X-float64(x0), p.Y-float64(y0)
			c00, c10, c01, c11 := px(x0, y0), px(x0+1, y0), px(x0, y0+1), px(x0+1, y0+1)
			for c := range 3 {
				val := (1-ay)*((1-ax)*c00[c]+ax*c10[c]) + ay*((1-ax)*c01[c]+ax*c11[c])
				out[3*(v*ow+u)+c] = float32(val)
			}
		}
	}
	return out
}

func TestWarpMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const w, h = 61, 47
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	rgb := make([]byte, 3*w*h)
	for i := range w * h {
		copy(rgb[3*i:3*i+3], img.Pix[4*i:4*i+3])
	}
	tests := []struct {
		name string
		inv  Affine
	}{
		{"identity", Affine{1, 0, 0, 0, 1, 0}},
		{"half-pixel shift", Affine{1, 0, 0.5, 0, 1, 0.5}},
		{"rotation and zoom", Affine{0.31, -0.12, 14.2, 0.12, 0.31, 3.7}},
		{"downscale, partly outside", Affine{0.9, 0.2, -8.3, -0.2, 0.9, 9.9}},
		{"reflection, all outside", Affine{-1, 0, -100, 0, 1, -50}},
		{"enlarge across the right edge", Affine{0.5, 0, 40.25, 0, 0.5, 20.75}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Warp(rgb, w, h, tt.inv, 112, 112)
			want := referenceWarp(img, tt.inv, 112, 112)
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-3 {
					t.Fatalf("value %d (pixel %d, %d) = %v, want %v (tolerance 1e-3)", i, (i/3)%112, i/3/112, got[i], want[i])
				}
			}
		})
	}
}

func TestFivePoints(t *testing.T) {
	var p [68]Point
	for i := range p {
		p[i] = Point{float64(i), float64(2 * i)}
	}
	tests := []struct {
		name string
		rule FivePointRule
		want [5]Point
	}{
		{"eye centres, outer mouth corners", FiveCentres, [5]Point{{38.5, 77}, {44.5, 89}, {30, 60}, {48, 96}, {54, 108}}},
		{"eyelids, mid mouth corners", FiveLids, [5]Point{{39, 78}, {45, 90}, {30, 60}, {54, 108}, {59, 118}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fivePoints(&p, tt.rule); got != tt.want {
				t.Fatalf("fivePoints = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestWarpArea: one sample is Warp; k samples average the bilinear values
// at the k x k sub-positions of each chip pixel (checked against Warp at
// those positions); a uniform image stays uniform.
func TestWarpArea(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const w, h = 50, 40
	src := make([]byte, 3*w*h)
	for i := range src {
		src[i] = uint8(rng.IntN(256))
	}
	inv := Affine{2.6, 0.7, 3.1, -0.7, 2.6, 10.4}
	one := WarpArea(src, w, h, inv, 9, 7, 1)
	if want := Warp(src, w, h, inv, 9, 7); !equal(one, want) {
		t.Fatal("WarpArea with k = 1 differs from Warp")
	}
	const k = 3
	got := WarpArea(src, w, h, inv, 9, 7, k)
	for v := range 7 {
		for u := range 9 {
			var sum [3]float64
			for j := range k {
				for i := range k {
					x := float64(u) + (float64(i)+0.5)/k - 0.5
					y := float64(v) + (float64(j)+0.5)/k - 0.5
					p := inv.Apply(Point{x, y})
					one := Warp(src, w, h, Affine{0, 0, p.X, 0, 0, p.Y}, 1, 1)
					for c := range 3 {
						sum[c] += float64(one[c])
					}
				}
			}
			for c := range 3 {
				if d := math.Abs(sum[c]/k/k - float64(got[3*(v*9+u)+c])); d > 1e-3 {
					t.Fatalf("pixel (%d, %d) channel %d: %v, want %v", u, v, c, got[3*(v*9+u)+c], sum[c]/k/k)
				}
			}
		}
	}
	flat := make([]byte, 3*w*h)
	for i := range flat {
		flat[i] = 77
	}
	for i, v := range WarpArea(flat, w, h, Affine{1.5, 0, 5, 0, 1.5, 5}, 10, 10, 2) {
		if math.Abs(float64(v)-77) > 1e-3 {
			t.Fatalf("uniform image: value %d is %v", i, v)
		}
	}
	if areaSamples(Affine{1, 0, 0, 0, 1, 0}) != 1 || areaSamples(Affine{2.2, 0, 0, 0, 2.2, 0}) != 3 || areaSamples(Affine{40, 0, 0, 0, 40, 0}) != 4 {
		t.Fatal("areaSamples")
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWarpEdge: with edge fill, a chip reading outside a uniform image
// stays uniform (black outside without it), inside pixels are WarpArea's,
// and a sample beyond a corner takes the corner's value.
func TestWarpEdge(t *testing.T) {
	const w, h = 8, 6
	uniform := make([]byte, 3*w*h)
	for i := range uniform {
		uniform[i] = 200
	}
	ramp := make([]byte, 3*w*h)
	for y := range h {
		for x := range w {
			for c := range 3 {
				ramp[3*(y*w+x)+c] = byte(10*x + 20*y + c)
			}
		}
	}
	tests := []struct {
		name string
		src  []byte
		inv  Affine
		k    int
		// check is called with the edge-filled chip and WarpArea's.
		check func(t *testing.T, edge, black []float32)
	}{
		{"uniform, chip twice the image", uniform, Affine{1, 0, -4, 0, 1, -3}, 1, func(t *testing.T, edge, black []float32) {
			for i, v := range edge {
				if v != 200 {
					t.Fatalf("value %d = %v, want 200", i, v)
				}
			}
			if black[0] != 0 {
				t.Fatalf("without edge fill, value 0 = %v, want 0", black[0])
			}
		}},
		{"uniform, area samples", uniform, Affine{2, 0, -6, 0, 2, -5}, 2, func(t *testing.T, edge, _ []float32) {
			for i, v := range edge {
				if math.Abs(float64(v)-200) > 1e-3 {
					t.Fatalf("value %d = %v, want 200", i, v)
				}
			}
		}},
		{"ramp, inside the image", ramp, Affine{0.25, 0, 1, 0, 0.25, 1}, 1, func(t *testing.T, edge, black []float32) {
			for i := range edge {
				if edge[i] != black[i] {
					t.Fatalf("value %d = %v, WarpArea %v", i, edge[i], black[i])
				}
			}
		}},
		{"ramp, beyond the top-left corner", ramp, Affine{1, 0, -5, 0, 1, -5}, 1, func(t *testing.T, edge, _ []float32) {
			if edge[0] != 0 || edge[1] != 1 || edge[2] != 2 {
				t.Fatalf("pixel (0, 0) = %v, want the corner's [0 1 2]", edge[:3])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edge := warpArea(tt.src, w, h, tt.inv, 2*w, 2*h, tt.k, true)
			black := WarpArea(tt.src, w, h, tt.inv, 2*w, 2*h, tt.k)
			tt.check(t, edge, black)
		})
	}
}

// movedCorner returns the ArcFace template, a similarity truth (chip to
// image), the template's points mapped by truth, and the same points with
// one mouth corner moved far off (an open mouth's corner).
func movedCorner() (tmpl []Point, truth Affine, exact, moved []Point) {
	tmpl = []Point{{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041}}
	truth = Affine{1.8, -0.4, 120, 0.4, 1.8, 60}
	exact = make([]Point, len(tmpl))
	for i, p := range tmpl {
		exact[i] = truth.Apply(p)
	}
	moved = append([]Point(nil), exact...)
	moved[3] = Point{moved[3].X - 25, moved[3].Y + 30}
	return tmpl, truth, exact, moved
}

// TestFitSimilarityWeighted: weights of 1 are FitSimilarity; points an
// exact similarity maps give that similarity under any weights; a point
// weighted near 0 stops pulling the fit (it tends to the fit without it).
func TestFitSimilarityWeighted(t *testing.T) {
	tmpl, truth, exact, moved := movedCorner()
	without, err := FitSimilarity(moved[:3], tmpl[:3])
	if err != nil {
		t.Fatal(err)
	}
	unweighted, err := FitSimilarity(moved, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		src  []Point
		w    []float64
		want Affine
		tol  float64
	}{
		{"weights of 1", moved, []float64{1, 1, 1, 1, 1}, unweighted, 1e-9},
		{"exact points, uneven weights", exact, []float64{1, 1, 1, 0.2, 3}, mustInvert(t, truth), 1e-9},
		{"moved corner weighted 1e-9", moved, []float64{1, 1, 1, 1e-9, 1e-9}, without, 1e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fitSimilarity(tt.src, tmpl, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if math.Abs(got[i]-tt.want[i]) > tt.tol {
					t.Fatalf("fit = %v, want %v (tolerance %g)", got, tt.want, tt.tol)
				}
			}
		})
	}
	if _, err := fitSimilarity(moved, tmpl, []float64{1, 1}); !errors.Is(err, ErrAlign) {
		t.Fatalf("two weights for five points: %v, want ErrAlign", err)
	}
}

func TestFitSimilarityRobust(t *testing.T) {
	tmpl, truth, exact, moved := movedCorner()
	want := mustInvert(t, truth)
	plain, err := FitSimilarity(moved, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	// worst is the largest distance, in chip pixels, between where fit and
	// the true similarity put the exact points.
	worst := func(fit Affine) float64 {
		var d float64
		for _, p := range exact {
			a, b := fit.Apply(p), want.Apply(p)
			d = math.Max(d, math.Hypot(a.X-b.X, a.Y-b.Y))
		}
		return d
	}
	tests := []struct {
		name   string
		src    []Point
		w      []float64
		scale  float64
		within float64 // the fit's worst error, chip pixels
	}{
		{"exact points", exact, nil, 2, 1e-9},
		{"exact points, mouth weighted", exact, []float64{1, 1, 1, 0.25, 0.25}, 2, 1e-9},
		{"one point moved, scale 2", moved, nil, 2, worst(plain) / 4},
		{"one point moved, scale 2, mouth weighted", moved, []float64{1, 1, 1, 0.25, 0.25}, 2, worst(plain) / 4},
		{"one point moved, scale 1000 (nearly plain)", moved, nil, 1000, worst(plain) * 1.001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fitSimilarityRobust(tt.src, tmpl, tt.w, tt.scale)
			if err != nil {
				t.Fatal(err)
			}
			if e := worst(got); !(e <= tt.within) {
				t.Fatalf("worst error %.4g chip pixels, want <= %.4g (plain fit %.4g)", e, tt.within, worst(plain))
			}
		})
	}
	if _, err := fitSimilarityRobust(moved[:1], tmpl[:1], nil, 2); !errors.Is(err, ErrAlign) {
		t.Fatalf("one point: %v, want ErrAlign", err)
	}
}

func mustInvert(t *testing.T, a Affine) Affine {
	t.Helper()
	inv, err := a.Invert()
	if err != nil {
		t.Fatal(err)
	}
	return inv
}
