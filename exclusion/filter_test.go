package exclusion_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/imageutil"
)

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestUnchecked(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	mustApprove(t, reg, mustSubmit(t, reg, faceSubmission(photo(person(1)))).ID)
	good := photo(person(2))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()

	tests := []struct {
		name string
		emb  embed.Embedder
		cfg  func(*exclusion.FilterConfig)
		ctx  context.Context
		in   io.Reader
		want error
	}{
		{name: "not an image", in: strings.NewReader("GIF89a but not really")},
		{name: "empty input", in: strings.NewReader("")},
		{name: "truncated PNG", in: strings.NewReader(string(good[:len(good)/2]))},
		{name: "reader fails", in: failingReader{}},
		{name: "nil reader", in: nil},
		{name: "too large", in: io.LimitReader(zeros{}, 21<<20), want: imageutil.ErrTooLarge},
		{name: "not an image format", in: strings.NewReader("plain text, not an image at all"), want: imageutil.ErrFormat},
		{name: "embedder fails", emb: &exclusiontest.Embedder{Err: embed.ErrDlib}, want: embed.ErrDlib},
		{name: "cancelled context", ctx: cancelled, want: context.Canceled},
		{name: "timeout", emb: &exclusiontest.Embedder{Delay: time.Second}, cfg: func(c *exclusion.FilterConfig) { c.Timeout = 20 * time.Millisecond }, want: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.emb
			if e == nil {
				e = emb
			}
			cfg := exclusion.DefaultFilterConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			f, err := exclusion.NewFilter(reg, e, cfg)
			if err != nil {
				t.Fatal(err)
			}
			c := tt.ctx
			if c == nil {
				c = ctx
			}
			in := tt.in
			if in == nil && tt.name != "nil reader" {
				in = strings.NewReader(string(good))
			}
			d := f.CheckImage(c, in)
			wantVerdict(t, d, exclusion.Unchecked)
			if d.Verdict.MayIndex() {
				t.Fatal("an unchecked image may be indexed")
			}
			wantErr(t, d.Err, exclusion.ErrUnchecked)
			if tt.want != nil {
				wantErr(t, d.Err, tt.want)
			}
		})
	}
	t.Run("closed registry", func(t *testing.T) {
		reg2, _ := newRegistry(t, emb)
		f := newFilter(t, reg2, emb)
		reg2.Close()
		wantVerdict(t, f.CheckImageBytes(ctx, good), exclusion.Unchecked)
		wantVerdict(t, f.CheckFaces(ctx, nil), exclusion.Unchecked)
		wantVerdict(t, f.CheckURL(ctx, "https://example.org/"), exclusion.Unchecked)
		wantErr(t, f.CheckURL(ctx, "https://example.org/").Err, exclusion.ErrClosed)
	})
	t.Run("NaN descriptor", func(t *testing.T) {
		f := newFilter(t, reg, emb)
		d := make(embed.Descriptor, embed.DlibDim)
		d[0] = float32(nanf())
		if got := f.CheckFaces(ctx, []embed.Descriptor{d}); got.Verdict != exclusion.Unchecked {
			t.Fatalf("NaN descriptor: %v", got.Verdict)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		f := newFilter(t, reg, emb)
		b, err := json.Marshal(f.CheckImageBytes(ctx, []byte("junk")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"verdict":"unchecked"`) || !strings.Contains(string(b), `"error":"exclusion: not checked: `) {
			t.Fatalf("JSON %s", b)
		}
	})
	t.Run("zero Decision", func(t *testing.T) {
		var d exclusion.Decision
		if d.Verdict.MayIndex() {
			t.Fatal("the zero Decision allows")
		}
	})
}

func nanf() float64 { z := 0.0; return z / z }

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestNewFilter(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	tests := []struct {
		name string
		reg  *exclusion.Registry
		emb  embed.Embedder
		cfg  exclusion.FilterConfig
		want error
	}{
		{"nil registry", nil, emb, exclusion.DefaultFilterConfig(), exclusion.ErrNoRegistry},
		{"nil embedder", reg, nil, exclusion.DefaultFilterConfig(), exclusion.ErrNoEmbedder},
		{"bad policy", reg, emb, exclusion.FilterConfig{Policy: &exclusion.ThresholdPolicy{}}, exclusion.ErrPolicy},
		{"zero config is usable", reg, emb, exclusion.FilterConfig{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := exclusion.NewFilter(tt.reg, tt.emb, tt.cfg)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tt.want)
		})
	}
}

func TestThresholdOverride(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	f := newFilter(t, reg, emb)
	s := faceSubmission(photo(person(1)))
	s.Threshold = 1.0
	req := mustSubmit(t, reg, s)
	mustApprove(t, reg, req.ID)
	d := f.CheckImageBytes(ctx, photo(at(person(1), 50, 70)))
	wantVerdict(t, d, exclusion.Block, req.ID)
	if m := d.Faces[0].Matches[0]; m.Threshold != 1.0 {
		t.Fatalf("match threshold %v, want the request's 1.0", m.Threshold)
	}
	got, _ := reg.Get(ctx, req.ID)
	if got.Threshold != 1.0 {
		t.Fatalf("stored threshold %v", got.Threshold)
	}
}

func TestFilterResults(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	f := newFilter(t, reg, emb)
	face := mustSubmit(t, reg, faceSubmission(photo(person(1))))
	mustApprove(t, reg, face.ID)
	rm := mustSubmit(t, reg, removalSubmission("https://example.org/removed.jpg"))
	mustApprove(t, reg, rm.ID)

	d1 := exclusiontest.Descriptor(exclusiontest.Person(1))
	d2 := exclusiontest.Descriptor(exclusiontest.Person(2))
	items := []exclusion.Item{
		{Key: "ok-faces", URL: "https://example.org/a.jpg", Faces: []embed.Descriptor{d2}},
		{Key: "blocked-face", URL: "https://example.org/b.jpg", Faces: []embed.Descriptor{d2, d1}},
		{Key: "removed-url", URL: "https://EXAMPLE.org/removed.jpg#frag", Faces: []embed.Descriptor{}},
		{Key: "ok-image", Image: photo(person(3))},
		{Key: "blocked-image", Image: photo(person(1))},
		{Key: "faces unknown", URL: "https://example.org/c.jpg"},
		{Key: "bad image", Image: []byte("junk")},
		{Key: "no faces", Faces: []embed.Descriptor{}},
	}
	kept, rep := f.FilterResults(ctx, items)
	var keys []string
	for _, it := range kept {
		keys = append(keys, it.Key)
	}
	if strings.Join(keys, ",") != "ok-faces,ok-image,no faces" {
		t.Fatalf("kept %v", keys)
	}
	want := exclusion.FilterReport{Checked: 8, Kept: 3, Blocked: 3, Unchecked: 2}
	if rep != want || rep.Dropped() != 5 {
		t.Fatalf("report %+v, want %+v", rep, want)
	}
}

func TestSweep(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg := exclusion.DefaultConfig()
	cfg.Now = c.now
	reg, err := exclusion.Create(ctx, exclusiontest.NewMemStore(), emb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	f := newFilter(t, reg, emb)
	old := mustSubmit(t, reg, faceSubmission(photo(person(1))))
	mustApprove(t, reg, old.ID)
	cut := c.t.Add(time.Millisecond)
	fresh := mustSubmit(t, reg, faceSubmission(photo(person(2))))
	mustApprove(t, reg, fresh.ID)
	pending := mustSubmit(t, reg, faceSubmission(photo(person(3))))

	// An existing search index: ids 0..99, person i%5's face.
	idx := func(yield func(uint64, embed.Descriptor) bool) {
		for i := range uint64(100) {
			if !yield(i, exclusiontest.Descriptor(exclusiontest.Person(int(i%5)))) {
				return
			}
		}
	}
	count := func(ids []uint64, mod uint64) bool {
		for _, id := range ids {
			if id%5 != mod {
				return false
			}
		}
		return len(ids) == 20
	}
	tests := []struct {
		name string
		sel  exclusion.SweepSelect
		mod  uint64
		none bool
	}{
		{"since", exclusion.SweepSelect{Since: cut}, 2, false},
		{"by id", exclusion.SweepSelect{RequestIDs: []string{old.ID}}, 1, false},
		{"pending blocks nothing", exclusion.SweepSelect{RequestIDs: []string{pending.ID}}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := exclusion.Sweep(ctx, f, tt.sel, iter.Seq2[uint64, embed.Descriptor](idx))
			if err != nil {
				t.Fatal(err)
			}
			if tt.none {
				if len(ids) != 0 {
					t.Fatalf("purge %v", ids)
				}
				return
			}
			if !count(ids, tt.mod) {
				t.Fatalf("purge %v, want the 20 ids of person %d", ids, tt.mod)
			}
		})
	}
	all, err := exclusion.Sweep(ctx, f, exclusion.SweepSelect{}, iter.Seq2[uint64, embed.Descriptor](idx))
	if err != nil || len(all) != 40 {
		t.Fatalf("sweep all: %d ids, %v", len(all), err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := exclusion.Sweep(cancelled, f, exclusion.SweepSelect{}, iter.Seq2[uint64, embed.Descriptor](idx)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled sweep: %v", err)
	}
}

// TestConcurrent runs checks while requests are approved and withdrawn; run
// it with -race. Every check of an enrolled face answers Block or Allow
// (never an error), and others always Allow.
func TestConcurrent(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	f := newFilter(t, reg, emb)
	const people = 6
	var ids [people]string
	for i := range people {
		ids[i] = mustSubmit(t, reg, faceSubmission(photo(person(i)))).ID
	}
	stranger := photo(person(40))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 16)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				p := (w + n) % people
				d := f.CheckImageBytes(ctx, photo(person(p)))
				if d.Verdict != exclusion.Block && d.Verdict != exclusion.Allow {
					errs <- fmt.Errorf("person %d: %v %v", p, d.Verdict, d.Err)
					return
				}
				if d := f.CheckImageBytes(ctx, stranger); d.Verdict != exclusion.Allow {
					errs <- fmt.Errorf("stranger: %v %v", d.Verdict, d.Err)
					return
				}
				exclusion.Sweep(ctx, f, exclusion.SweepSelect{}, func(yield func(int, embed.Descriptor) bool) {
					yield(0, exclusiontest.Descriptor(exclusiontest.Person(p)))
				})
			}
		}()
	}
	for i := range people {
		mustApprove(t, reg, ids[i])
		if i%2 == 0 {
			if _, err := reg.Withdraw(ctx, ids[i], "requester", ""); err != nil {
				t.Fatal(err)
			}
		}
		mustSubmit(t, reg, faceSubmission(photo(person(10+i))))
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range people {
		want := exclusion.Block
		if i%2 == 0 {
			want = exclusion.Allow
		}
		wantVerdict(t, f.CheckImageBytes(ctx, photo(person(i))), want)
	}
}
