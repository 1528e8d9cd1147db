package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/disintegration/imaging"

	"github.com/faceoptout/faceoptout/examples/crawler/crawl"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
)

// The opt-outs enrolled from faces/bbt, and the one withdrawn at the end.
var (
	optOuts   = []string{"sheldon", "penny", "leonard"}
	withdrawn = "sheldon"
)

// item is one image the demo serves and crawls.
type item struct {
	path  string // URL path on the demo server
	shows string // what it is, for the table
	data  []byte
}

// demo holds the state of one run.
type demo struct {
	w      io.Writer
	reg    *exclusion.Registry
	base   string            // the server's URL
	labels map[string]string // request id -> label
}

func run(ctx context.Context, o options, w io.Writer) error {
	real := o.BBTDir != ""
	if real {
		if _, err := os.Stat(filepath.Join(o.BBTDir, withdrawn)); err != nil {
			real = false
		}
	}
	// The registry lives for one run, so its operator key is made here; a
	// long-lived registry's key comes from a file (registrydir.ReadKeyFile).
	key := make([]byte, exclusion.KeySize)
	rand.Read(key)
	reg, err := registrydir.Create(ctx, o.Dir, o.Embedder, registrydir.WithKey(key))
	if err != nil {
		return err
	}
	defer reg.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d := &demo{w: w, reg: reg, base: "http://" + l.Addr().String(), labels: map[string]string{}}
	fmt.Fprintf(w, "registry: %s (bbolt, descriptors and hashes encrypted, embedder %s)\n", o.Dir, o.Embedder.Name)

	// 1. Requests: face opt-outs, a DSA removal; a reviewer approves them.
	section(w, "1. requests submitted and approved")
	var items []item
	var optIDs = map[string]string{}
	if real {
		fmt.Fprintf(w, "faces: %s\n", o.BBTDir)
		for _, name := range optOuts {
			id, err := d.optOut(ctx, name, filepath.Join(o.BBTDir, name, name+"1.png"))
			if err != nil {
				return err
			}
			optIDs[name] = id
		}
		if items, err = faceItems(o.BBTDir); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "NOTE: the faces/bbt photos are not in %q, so this run uses SYNTHETIC images the demo\n"+
			"generates: they show no faces, and a face detector finds none in them. Only the DSA removal\n"+
			"path (URL, perceptual hash of resized and re-encoded copies) is demonstrated. Run it without\n"+
			"--faces (testdata/bbt) to see face opt-outs.\n", o.BBTDir)
	}
	poster := pattern(480, 360, 1)
	posterPNG := encodePNG(poster)
	removalID, err := d.removal(ctx, "/news/poster.png", posterPNG)
	if err != nil {
		return err
	}
	items = append(items,
		item{"/news/poster.png", "the removed image at its removed URL", posterPNG},
		item{"/cdn/poster-copy.png", "re-upload: the same file at another URL", posterPNG},
		item{"/mirror/poster-small.jpg", "re-upload: resized to 60%, JPEG q75, other URL", encodeJPEG(imaging.Resize(poster, 288, 0, imaging.Lanczos), 75)},
		item{"/blog/landscape.png", "another image (no faces)", encodePNG(pattern(480, 360, 4))},
		item{"/broken.jpg", "a truncated JPEG", encodeJPEG(poster, 90)[:2000]},
	)

	files := map[string][]byte{}
	for _, it := range items {
		files[it.path] = it.data
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(rw, r)
			return
		}
		_, _ = rw.Write(b)
	}))
	srv.Listener = l
	srv.Start()
	defer srv.Close()

	f, err := exclusion.NewFilter(reg, o.Embedder.Embedder, exclusion.DefaultFilterConfig())
	if err != nil {
		return err
	}
	cc := crawl.DefaultConfig()
	cc.Workers = max(1, o.Workers)
	c, err := crawl.New(f, cc)
	if err != nil {
		return err
	}

	// 2. Crawl everything.
	section(w, fmt.Sprintf("2. crawl of %d images served at %s", len(items), d.base))
	srcs := make([]crawl.Source, len(items))
	for i, it := range items {
		srcs[i] = crawl.Source{URL: d.base + it.path}
	}
	first := c.Crawl(ctx, srcs)
	if err := d.table(items, first); err != nil {
		return err
	}

	// 3. Withdraw one request and crawl again.
	wid, who := removalID, "the DSA removal"
	if real {
		wid, who = optIDs[withdrawn], withdrawn+"'s face opt-out"
	}
	section(w, "3. "+who+" is withdrawn; crawl again")
	if _, err := reg.Withdraw(ctx, wid, "reviewer@demo", "the requester withdrew"); err != nil {
		return err
	}
	fmt.Fprintf(w, "withdrawn %s (%s): its descriptors and hashes are deleted; the audit log keeps who and when.\n", d.label(wid), wid)
	second := c.Crawl(ctx, srcs)
	changed := 0
	for i := range items {
		if first[i].Verdict != second[i].Verdict {
			changed++
			fmt.Fprintf(w, "  %-30s %s -> %s\n", items[i].path, strings.ToUpper(first[i].Verdict.String()), strings.ToUpper(second[i].Verdict.String()))
		}
	}
	fmt.Fprintf(w, "%d images changed verdict; totals now: %s\n", changed, crawl.Count(second))
	for i, r := range second {
		if r.Verdict == exclusion.Block && slices.Contains(first[i].RequestIDs, wid) {
			var who []string
			for _, id := range r.RequestIDs {
				who = append(who, d.label(id))
			}
			fmt.Fprintf(w, "  %-30s still BLOCK: %s\n", items[i].path, strings.Join(who, ", "))
		}
	}

	section(w, "audit log")
	for ev, err := range reg.Audit(ctx, "") {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  #%d %-8s %-9s %s -> %-9s by %s\n", ev.Seq, ev.Action, d.label(ev.RequestID), orDash(string(ev.From)), ev.To, ev.Actor)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func section(w io.Writer, title string) {
	fmt.Fprintf(w, "\n== %s ==\n", title)
}

func (d *demo) label(id string) string {
	if l, ok := d.labels[id]; ok {
		return l
	}
	return id
}

// optOut submits and approves a face opt-out with one photo.
func (d *demo) optOut(ctx context.Context, name, file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	sub := &exclusion.Submission{
		Kind: exclusion.FaceOptOut, Country: "US", Reason: "I do not want my face in a face search engine.",
		Name: name, Email: name + "@example.org", Phone: "+15551230000",
		Photos: []exclusion.Photo{{Data: data}},
	}
	req, err := d.reg.Submit(ctx, sub, name+"@example.org")
	if err != nil {
		return "", fmt.Errorf("submitting %s: %w", name, err)
	}
	d.labels[req.ID] = name
	for _, p := range req.Photos {
		for _, fr := range p.Faces {
			state := "enrolled"
			if !fr.Enrolled {
				state = "refused: " + string(fr.Refusal)
			}
			fmt.Fprintf(d.w, "face opt-out %-8s %s  photo %s: face at %v (size %d px, sharpness %.0f) %s\n",
				name, req.ID, filepath.Base(file), fr.Box, fr.Quality.Size, fr.Quality.Sharpness, state)
		}
		if p.Problem != "" {
			fmt.Fprintf(d.w, "face opt-out %-8s %s  photo %s: %s\n", name, req.ID, filepath.Base(file), p.Problem)
		}
	}
	if _, err := d.reg.Approve(ctx, req.ID, "reviewer@demo", "identity checked"); err != nil {
		return "", fmt.Errorf("approving %s: %w", name, err)
	}
	return req.ID, nil
}

// removal submits and approves a DSA image removal of one URL with its image.
func (d *demo) removal(ctx context.Context, path string, data []byte) (string, error) {
	sub := &exclusion.Submission{
		Kind: exclusion.ImageRemoval, Country: "DE", Reason: "DSA notice: this photo of me was published without my consent.",
		Name: "Erika Mustermann", Email: "erika@example.org", Phone: "+4915123456789",
		URLs: []string{d.base + path}, Photos: []exclusion.Photo{{Data: data}},
	}
	req, err := d.reg.Submit(ctx, sub, "erika@example.org")
	if err != nil {
		return "", fmt.Errorf("submitting the DSA removal: %w", err)
	}
	d.labels[req.ID] = "DSA"
	fmt.Fprintf(d.w, "DSA removal  %-8s %s  URL %s and its image (%dx%d, perceptual hash %016x)\n",
		"", req.ID, req.URLs[0], req.Photos[0].Width, req.Photos[0].Height, req.Photos[0].PHash)
	if _, err := d.reg.Approve(ctx, req.ID, "reviewer@demo", "notice checked"); err != nil {
		return "", err
	}
	return req.ID, nil
}

// table prints one row per image, plus one per further match.
func (d *demo) table(items []item, results []crawl.Result) error {
	tw := tabwriter.NewWriter(d.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tIMAGE\tWHAT IT IS\tMATCHED REQUEST\tBY\tDISTANCE\tTHRESHOLD")
	for i, r := range results {
		rows := d.rows(r)
		for j, row := range rows {
			v, p, s := "", "", ""
			if j == 0 {
				v, p, s = strings.ToUpper(r.Verdict.String()), items[i].path, items[i].shows
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v, p, s, row)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(d.w, "totals: %s. Only ALLOW is indexed.\n", crawl.Count(results))
	return nil
}

// rows returns the match columns of a result, one row per match.
func (d *demo) rows(r crawl.Result) []string {
	var rows []string
	for _, m := range r.Images {
		req := d.label(m.RequestID) + " " + short(m.RequestID)
		switch m.By {
		case exclusion.MatchPHash:
			rows = append(rows, fmt.Sprintf("%s\tperceptual hash\t%d bits\t%d bits", req, m.Distance, m.Threshold))
		case exclusion.MatchSHA256:
			rows = append(rows, fmt.Sprintf("%s\tsame bytes (SHA-256)\t-\t-", req))
		default:
			rows = append(rows, fmt.Sprintf("%s\t%s\t-\t-", req, m.By))
		}
	}
	for _, fc := range r.Faces {
		for _, m := range fc.Matches {
			rows = append(rows, fmt.Sprintf("%s\tface at %v\t%.3f\t%.2f", d.label(m.RequestID)+" "+short(m.RequestID), fc.Box, m.Distance, m.Threshold))
		}
	}
	if len(rows) > 0 {
		slices.Sort(rows[min(1, len(rows)):]) // stable output after the first
		return rows
	}
	switch r.Verdict {
	case exclusion.Allow:
		return []string{fmt.Sprintf("-\tno match, %d face(s)\t-\t-", r.FacesChecked)}
	case exclusion.Unchecked:
		msg := strings.ReplaceAll(r.Reason, "exclusion: ", "")
		msg = strings.TrimPrefix(msg, "not checked: ")
		if len(msg) > 48 {
			msg = msg[:48] + "..."
		}
		return []string{"-\t" + msg + "\t-\t-"}
	}
	return []string{"-\t" + r.Reason + "\t-\t-"}
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// faceItems lists the faces/bbt photos the demo crawls.
func faceItems(dir string) ([]item, error) {
	var items []item
	add := func(path, shows string, data []byte) { items = append(items, item{path, shows, data}) }
	file := func(rel string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, rel)) }
	type src struct{ rel, shows string }
	for _, s := range []src{
		{"sheldon/sheldon2.png", "sheldon, another photo"},
		{"sheldon/sheldon4.png", "sheldon, another photo"},
		{"penny/penny2.png", "penny, another photo"},
		{"leonard/leonard3.png", "leonard, another photo"},
		{"howard/howard1.png", "stranger: howard (did not opt out)"},
		{"raj/raj1.png", "stranger: raj (did not opt out)"},
		{"amy/amy1.png", "stranger: amy (did not opt out)"},
		{"bernadette/bernadette1.png", "stranger: bernadette (did not opt out)"},
		{"stuart/stuart1.png", "stranger: stuart (did not opt out)"},
		{"bbt1.jpg", "group photo"},
		{"bbt2.jpg", "group photo"},
		{"bbt3.jpg", "group photo"},
		{"bbt4.jpg", "group photo"},
		{"bbt5.jpg", "group photo"},
	} {
		b, err := file(s.rel)
		if err != nil {
			return nil, err
		}
		add("/bbt/"+s.rel, s.shows, b)
	}
	// Variants of an opt-out photo: not the same bytes, the same face.
	b, err := file("penny/penny1.png")
	if err != nil {
		return nil, err
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	add("/variants/penny1-q60.jpg", "penny's opt-out photo, JPEG q60", encodeJPEG(img, 60))
	add("/variants/penny1-large.png", "penny's opt-out photo, upscaled 2x", encodePNG(imaging.Resize(img, img.Bounds().Dx()*2, 0, imaging.Lanczos)))
	return items, nil
}

// pattern returns a w x h synthetic picture (smooth colour waves, no
// faces); seed varies it.
func pattern(w, h, seed int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	s := float64(seed)
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			v := 110 + 50*math.Sin(6*fx+s)*math.Cos(5*fy+2*s) + 40*math.Sin(11*fx*fy+3*s)
			g := uint8(max(0, min(220, v)))
			img.SetNRGBA(x, y, color.NRGBA{g, uint8(max(0, min(255, v*0.8+30))), uint8(255 - g/2), 255})
		}
	}
	return img
}

func encodePNG(img image.Image) []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

func encodeJPEG(img image.Image, q int) []byte {
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: q})
	return b.Bytes()
}
