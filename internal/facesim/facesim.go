package facesim

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// Errors returned by the package.
var (
	// ErrData means the descriptors or labels given to Fit cannot define a model.
	ErrData = errors.New("facesim: unusable data")
	// ErrFormat means an idols.json file is malformed.
	ErrFormat = errors.New("facesim: bad idols file")
)

// Model is a two-level Gaussian model of face descriptors: identity centres
// ~ N(Mean, Between), samples of an identity ~ N(centre, Within). A Model
// is immutable and safe for concurrent use (each caller brings its own rng).
type Model struct {
	dim     int
	mean    []float64
	between *mat.SymDense
	within  *mat.SymDense
	lb, lw  []float64 // lower Cholesky factors, row-major dim x dim
}

// Dim returns the descriptor dimension.
func (m *Model) Dim() int { return m.dim }

// Mean returns a copy of the population mean.
func (m *Model) Mean() []float64 { return slices.Clone(m.mean) }

// Between returns a copy of the between-person covariance.
func (m *Model) Between() *mat.SymDense {
	return mat.NewSymDense(m.dim, slices.Clone(m.between.RawSymmetric().Data))
}

// Within returns a copy of the within-person covariance.
func (m *Model) Within() *mat.SymDense {
	return mat.NewSymDense(m.dim, slices.Clone(m.within.RawSymmetric().Data))
}

// Fit estimates a Model from descriptors descs labelled by person
// (labels[i] is the person of descs[i]). It needs at least two people and
// at least one person with two or more samples.
func Fit(descs [][]float32, labels []int) (*Model, error) {
	if len(descs) == 0 || len(descs) != len(labels) {
		return nil, fmt.Errorf("%w: %d descriptors, %d labels", ErrData, len(descs), len(labels))
	}
	dim := len(descs[0])
	if dim == 0 {
		return nil, fmt.Errorf("%w: empty descriptor", ErrData)
	}
	groups := map[int][]int{}
	var order []int
	for i, d := range descs {
		if len(d) != dim {
			return nil, fmt.Errorf("%w: descriptor %d has %d values, want %d", ErrData, i, len(d), dim)
		}
		for _, x := range d {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%w: descriptor %d holds NaN or Inf", ErrData, i)
			}
		}
		if _, ok := groups[labels[i]]; !ok {
			order = append(order, labels[i])
		}
		groups[labels[i]] = append(groups[labels[i]], i)
	}
	if len(order) < 2 {
		return nil, fmt.Errorf("%w: %d people, need 2", ErrData, len(order))
	}
	means := mat.NewDense(len(order), dim, nil)
	within := mat.NewSymDense(dim, nil)
	dev := make([]float64, dim)
	dof := 0
	for g, lab := range order {
		idx := groups[lab]
		row := means.RawRowView(g)
		for _, i := range idx {
			for j, x := range descs[i] {
				row[j] += float64(x)
			}
		}
		for j := range row {
			row[j] /= float64(len(idx))
		}
		if len(idx) < 2 {
			continue
		}
		dof += len(idx) - 1
		for _, i := range idx {
			for j, x := range descs[i] {
				dev[j] = float64(x) - row[j]
			}
			within.SymRankOne(within, 1, mat.NewVecDense(dim, dev))
		}
	}
	if dof == 0 {
		return nil, fmt.Errorf("%w: no person has two samples", ErrData)
	}
	within.ScaleSym(1/float64(dof), within)
	between := mat.NewSymDense(dim, nil)
	stat.CovarianceMatrix(between, means, nil)
	mean := make([]float64, dim)
	for j := range mean {
		mean[j] = stat.Mean(mat.Col(nil, j, means), nil)
	}
	return newModel(mean, between, within)
}

// newModel factorises the covariances, adding a small ridge when a matrix is
// not positive definite.
func newModel(mean []float64, between, within *mat.SymDense) (*Model, error) {
	m := &Model{dim: len(mean), mean: mean, between: between, within: within}
	var err error
	if m.lb, err = cholesky(between); err != nil {
		return nil, err
	}
	if m.lw, err = cholesky(within); err != nil {
		return nil, err
	}
	return m, nil
}

func cholesky(s *mat.SymDense) ([]float64, error) {
	n := s.SymmetricDim()
	tr := 0.0
	for i := range n {
		tr += s.At(i, i)
	}
	if !(tr > 0) {
		return nil, fmt.Errorf("%w: zero covariance", ErrData)
	}
	for ridge := 1e-9 * tr / float64(n); ridge < tr; ridge *= 10 {
		r := mat.NewSymDense(n, nil)
		r.CopySym(s)
		for i := range n {
			r.SetSym(i, i, r.At(i, i)+ridge)
		}
		var c mat.Cholesky
		if c.Factorize(r) {
			var l mat.TriDense
			c.LTo(&l)
			out := make([]float64, n*n)
			for i := range n {
				for j := 0; j <= i; j++ {
					out[i*n+j] = l.At(i, j)
				}
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("%w: covariance not positive definite", ErrData)
}

// Widen returns a model whose between-person covariance is factor times
// this one's; the mean and the within-person covariance are unchanged.
func (m *Model) Widen(factor float64) (*Model, error) {
	if !(factor > 0) || math.IsInf(factor, 0) {
		return nil, fmt.Errorf("%w: widen factor %v", ErrData, factor)
	}
	b := mat.NewSymDense(m.dim, nil)
	b.ScaleSym(factor, m.between)
	return newModel(slices.Clone(m.mean), b, m.Within())
}

// gauss writes mean + L·z (z standard normal) into dst as float32.
func gauss(rng *rand.Rand, mean []float64, l []float64, z []float64, dst []float32) {
	n := len(mean)
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	for i := range n {
		s := mean[i]
		row := l[i*n : i*n+i+1]
		for j, v := range row {
			s += v * z[j]
		}
		dst[i] = float32(s)
	}
}

// Identity draws one person centre.
func (m *Model) Identity(rng *rand.Rand) []float32 {
	c := make([]float32, m.dim)
	gauss(rng, m.mean, m.lb, make([]float64, m.dim), c)
	return c
}

// SampleOf draws one descriptor of the person with the given centre.
func (m *Model) SampleOf(rng *rand.Rand, centre []float32) []float32 {
	c := make([]float64, m.dim)
	for i, x := range centre[:m.dim] {
		c[i] = float64(x)
	}
	d := make([]float32, m.dim)
	gauss(rng, c, m.lw, make([]float64, m.dim), d)
	return d
}

// Sample draws identities people and perIdentity descriptors of each. It
// returns the descriptors, their labels (0..identities-1, grouped by person)
// and the person centres, so callers can draw more samples of the same
// people with SampleOf.
func (m *Model) Sample(rng *rand.Rand, identities, perIdentity int) (descs [][]float32, labels []int, centres [][]float32) {
	descs = make([][]float32, 0, identities*perIdentity)
	labels = make([]int, 0, identities*perIdentity)
	centres = make([][]float32, identities)
	z := make([]float64, m.dim)
	c := make([]float64, m.dim)
	flat := make([]float32, identities*perIdentity*m.dim)
	for p := range identities {
		centres[p] = make([]float32, m.dim)
		gauss(rng, m.mean, m.lb, z, centres[p])
		for i, x := range centres[p] {
			c[i] = float64(x)
		}
		for range perIdentity {
			d := flat[:m.dim:m.dim]
			flat = flat[m.dim:]
			gauss(rng, c, m.lw, z, d)
			descs = append(descs, d)
			labels = append(labels, p)
		}
	}
	return descs, labels, centres
}

// Synthetic returns a model that needs no data: zero mean, and between- and
// within-person covariances with a decaying spectrum in a random basis,
// scaled so that, like widened dlib data, different-person distances have a
// median near 0.9 and same-person distances near 0.38. It is for unit tests.
func Synthetic(dim int, seed uint64) (*Model, error) {
	if dim < 2 {
		return nil, fmt.Errorf("%w: dim %d", ErrData, dim)
	}
	rng := rand.New(rand.NewPCG(seed, seed+1))
	// Random orthonormal basis from the QR of a Gaussian matrix.
	g := mat.NewDense(dim, dim, nil)
	for i := range dim {
		for j := range dim {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	spectrum := func(total float64) *mat.SymDense {
		ev := make([]float64, dim)
		sum := 0.0
		for i := range ev {
			ev[i] = 1 / math.Pow(float64(i+1), 1.2)
			sum += ev[i]
		}
		for i := range ev {
			ev[i] *= total / sum
		}
		var t, c mat.Dense
		t.Mul(&q, mat.NewDiagDense(dim, ev))
		c.Mul(&t, q.T())
		s := mat.NewSymDense(dim, nil)
		for i := range dim {
			for j := i; j < dim; j++ {
				s.SetSym(i, j, (c.At(i, j)+c.At(j, i))/2)
			}
		}
		return s
	}
	// E|x-y|^2 = 2·trace: pick traces for the target medians.
	within := spectrum(0.38 * 0.38 / 2)
	between := spectrum((0.9*0.9 - 0.38*0.38) / 2)
	return newModel(make([]float64, dim), between, within)
}

// Idols is the content of idols.json: descriptors and their person labels.
type Idols struct {
	Descriptors [][]float32
	Labels      []int    // Labels[i] indexes People
	People      []string // idol ids, in order of first appearance
}

// LoadIdols reads an idols.json file. Every descriptor must decode to
// exactly 128 finite float32 values.
func LoadIdols(path string) (*Idols, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("facesim: %w", err)
	}
	var doc struct {
		Faces []struct {
			Descriptor string `json:"descriptor"`
			IdolID     string `json:"idol_id"`
		} `json:"faces"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, path, err)
	}
	if len(doc.Faces) == 0 {
		return nil, fmt.Errorf("%w: %s: no faces", ErrFormat, path)
	}
	out := &Idols{}
	person := map[string]int{}
	for i, f := range doc.Faces {
		raw, err := base64.StdEncoding.DecodeString(f.Descriptor)
		if err != nil || len(raw) != 128*4 {
			return nil, fmt.Errorf("%w: %s: face %d: descriptor is not 128 base64 float32", ErrFormat, path, i)
		}
		d := make([]float32, 128)
		for j := range d {
			d[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
			if math.IsNaN(float64(d[j])) || math.IsInf(float64(d[j]), 0) {
				return nil, fmt.Errorf("%w: %s: face %d: NaN or Inf", ErrFormat, path, i)
			}
		}
		if f.IdolID == "" {
			return nil, fmt.Errorf("%w: %s: face %d: no idol_id", ErrFormat, path, i)
		}
		p, ok := person[f.IdolID]
		if !ok {
			p = len(out.People)
			person[f.IdolID] = p
			out.People = append(out.People, f.IdolID)
		}
		out.Descriptors = append(out.Descriptors, d)
		out.Labels = append(out.Labels, p)
	}
	return out, nil
}
