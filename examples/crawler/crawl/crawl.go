package crawl

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faceoptout/faceoptout/exclusion"
)

// Config configures a Crawler. Start from DefaultConfig. As in every
// Config of faceoptout, the zero value of every field means the default.
type Config struct {
	// Workers is the number of images fetched at once (Check and Crawl)
	// and, for Crawl, how far fetches run ahead of the checks; 0 means 2.
	Workers int
	// Batch bounds Crawl's checks (exclusion.Filter.CheckBatch): images
	// checked at once and image bytes in flight. The zero value takes
	// exclusion.DefaultBatchConfig's values.
	Batch exclusion.BatchConfig
	// FetchTimeout bounds each fetch (connect, headers and body); 0 means
	// 15 s.
	FetchTimeout time.Duration
	// MaxBytes is the largest image fetched or read; larger ones are
	// Unchecked. 0 means 20 MiB.
	MaxBytes int64
	// MaxRedirects bounds the redirects followed per fetch; 0 means 5.
	// NoRedirects follows none.
	MaxRedirects int
	// NoRedirects follows no redirect: a redirected fetch fails.
	NoRedirects bool
	// Client fetches URLs; nil means a client built from the fields above.
	// Its own Timeout and CheckRedirect are kept if set.
	Client *http.Client
}

// DefaultConfig returns the defaults: 2 workers, 15 s per fetch, 20 MiB per
// image, 5 redirects.
func DefaultConfig() Config {
	return Config{Workers: 2, FetchTimeout: 15 * time.Second, MaxBytes: 20 << 20, MaxRedirects: 5}
}

// ErrConfig is wrapped by New for an invalid Config.
var ErrConfig = errors.New("crawl: invalid config")

// Errors an Unchecked result's Err may wrap.
var (
	// ErrTooLarge: the image is larger than Config.MaxBytes.
	ErrTooLarge = errors.New("crawl: image too large")
	// ErrFetch: the fetch failed (network, status, redirects).
	ErrFetch = errors.New("crawl: fetch failed")
)

// Source is one image to crawl: a URL or a file.
type Source struct {
	// URL is an http(s) URL; empty for a file.
	URL string `json:"url,omitempty"`
	// Path is a file's path; empty for a URL.
	Path string `json:"path,omitempty"`
}

// String returns the URL or the path.
func (s Source) String() string {
	if s.URL != "" {
		return s.URL
	}
	return s.Path
}

// imageExts are the file extensions Sources picks up in directories.
var imageExts = []string{".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}

// IsImageName reports whether name has an image file extension.
func IsImageName(name string) bool {
	return slices.Contains(imageExts, strings.ToLower(filepath.Ext(name)))
}

// Sources turns arguments into sources: an argument starting with http://
// or https:// is a URL, a directory is walked for image files (sorted), and
// anything else is a file. A directory that cannot be walked is returned as
// an error.
func Sources(args ...string) ([]Source, error) {
	var out []Source
	for _, a := range args {
		la := strings.ToLower(a)
		if strings.HasPrefix(la, "http://") || strings.HasPrefix(la, "https://") {
			out = append(out, Source{URL: a})
			continue
		}
		fi, err := os.Stat(a)
		if err != nil || !fi.IsDir() {
			out = append(out, Source{Path: a}) // a missing file is Unchecked later
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && IsImageName(p) {
				out = append(out, Source{Path: p})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("crawl: %w", err)
		}
	}
	return out, nil
}

// Result is what the crawler decided about one source.
type Result struct {
	Source Source `json:"source"`
	// Verdict is the Filter's verdict; only Allow may be indexed.
	Verdict exclusion.Verdict `json:"verdict"`
	// Reason explains the verdict in one line.
	Reason string `json:"reason"`
	// RequestIDs are the approved requests that matched.
	RequestIDs []string `json:"request_ids,omitempty"`
	// Images and Faces are the Filter's matches: image-level matches, and
	// the faces that justify a Block or Review (with distances and
	// thresholds). Allowed faces are not kept.
	Images []exclusion.ImageMatch `json:"images,omitempty"`
	Faces  []exclusion.FaceCheck  `json:"faces,omitempty"`
	// FacesChecked counts the faces the Filter looked at.
	FacesChecked int `json:"faces_checked"`
	// Bytes and SHA256 describe the fetched image (Allow only).
	Bytes  int    `json:"bytes,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Err is why the verdict is Unchecked.
	Err error `json:"-"`
}

// Crawler fetches images and checks them. It is safe for concurrent use.
type Crawler struct {
	filter *exclusion.Filter
	cfg    Config
	client *http.Client
}

// New returns a Crawler that checks every image with f.
func New(f *exclusion.Filter, cfg Config) (*Crawler, error) {
	d := DefaultConfig()
	if cfg.Workers == 0 {
		cfg.Workers = d.Workers
	}
	if cfg.FetchTimeout == 0 {
		cfg.FetchTimeout = d.FetchTimeout
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = d.MaxBytes
	}
	if cfg.MaxRedirects == 0 {
		cfg.MaxRedirects = d.MaxRedirects
	}
	if cfg.NoRedirects {
		cfg.MaxRedirects = 0
	}
	switch {
	case f == nil:
		return nil, fmt.Errorf("%w: nil filter", ErrConfig)
	case cfg.Workers < 1 || cfg.Workers > 64:
		return nil, fmt.Errorf("%w: Workers %d outside [1, 64]", ErrConfig, cfg.Workers)
	case cfg.FetchTimeout <= 0:
		return nil, fmt.Errorf("%w: FetchTimeout %v must be positive", ErrConfig, cfg.FetchTimeout)
	case cfg.MaxBytes <= 0:
		return nil, fmt.Errorf("%w: MaxBytes %d must be positive", ErrConfig, cfg.MaxBytes)
	case cfg.MaxRedirects < 0:
		return nil, fmt.Errorf("%w: MaxRedirects %d is negative", ErrConfig, cfg.MaxRedirects)
	}
	client := &http.Client{}
	if cfg.Client != nil {
		c := *cfg.Client
		client = &c
	} else {
		client.Transport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			TLSHandshakeTimeout:   cfg.FetchTimeout,
			ResponseHeaderTimeout: cfg.FetchTimeout,
			MaxIdleConnsPerHost:   cfg.Workers,
			IdleConnTimeout:       30 * time.Second,
		}
	}
	if client.Timeout == 0 {
		client.Timeout = cfg.FetchTimeout
	}
	if client.CheckRedirect == nil {
		max := cfg.MaxRedirects
		client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) > max {
				return fmt.Errorf("more than %d redirects", max)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to a %q URL", req.URL.Scheme)
			}
			// A removed image is not even downloaded through a redirect.
			if d := f.CheckURL(req.Context(), req.URL.String()); d.Verdict != exclusion.Allow {
				return &redirectError{url: req.URL.String(), d: d}
			}
			return nil
		}
	}
	return &Crawler{filter: f, cfg: cfg, client: client}, nil
}

// Crawl fetches the sources with Config.Workers workers and checks the
// images through the Filter's CheckBatch (Config.Batch), so that decoding
// and face search of different images overlap on every core while the
// fetches go on; it returns the results in the order of srcs. Fetches run
// at most Workers ahead of the checks. Sources not reached because ctx
// ended are Unchecked. Safe for concurrent use.
func (c *Crawler) Crawl(ctx context.Context, srcs []Source) []Result {
	out := make([]Result, len(srcs))
	done := make([]bool, len(srcs))
	slots := make(chan chan fetched, c.cfg.Workers)
	in := make(chan exclusion.Item)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // fetch, at most Workers at once and ahead of the checks
		defer wg.Done()
		defer close(slots)
		sem := make(chan struct{}, c.cfg.Workers)
		for i := range srcs {
			slot := make(chan fetched, 1)
			select {
			case slots <- slot:
			case <-ctx.Done():
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				slot <- fetched{res: unchecked(srcs[i], fmt.Errorf("crawl: not checked: %w", ctx.Err())), done: true}
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				slot <- c.fetch(ctx, srcs[i])
				<-sem
			}()
		}
	}()
	go func() { // hand fetched images to the Filter in order
		defer wg.Done()
		defer close(in)
		i := 0
		for slot := range slots {
			f := <-slot
			if f.done {
				out[i], done[i] = f.res, true
			} else {
				select {
				case in <- exclusion.Item{Key: strconv.Itoa(i), Image: f.data}:
				case <-ctx.Done():
					return
				}
			}
			i++
		}
	}()
	for r := range c.filter.CheckBatch(ctx, in, c.cfg.Batch) {
		i, err := strconv.Atoi(r.Item.Key)
		if err != nil || i < 0 || i >= len(srcs) {
			continue
		}
		out[i], done[i] = checked(srcs[i], r.Item.Image, r.Decision), true
	}
	wg.Wait()
	for i := range srcs {
		if !done[i] {
			err := ctx.Err()
			if err == nil {
				err = exclusion.ErrUnchecked
			}
			out[i] = unchecked(srcs[i], fmt.Errorf("crawl: not checked: %w", err))
		}
	}
	return out
}

func unchecked(src Source, err error) Result {
	return Result{Source: src, Verdict: exclusion.Unchecked, Reason: err.Error(), Err: err}
}

// fetched is a source read for checking: its image bytes, or (done) the
// result already decided (URL removed, fetch failed).
type fetched struct {
	data []byte
	res  Result
	done bool
}

// Check checks one source: the URL first (a removed URL is not fetched),
// then the fetched image, then the final URL after redirects. Safe for
// concurrent use.
func (c *Crawler) Check(ctx context.Context, src Source) Result {
	f := c.fetch(ctx, src)
	if f.done {
		return f.res
	}
	return checked(src, f.data, c.filter.CheckImageBytes(ctx, f.data))
}

// fetch checks a source's URL, reads it, and checks the final URL after
// redirects: it returns the image to check, or the result when one of
// those decided.
func (c *Crawler) fetch(ctx context.Context, src Source) fetched {
	if err := ctx.Err(); err != nil {
		return fetched{res: unchecked(src, fmt.Errorf("crawl: not checked: %w", err)), done: true}
	}
	if src.URL != "" {
		if d := c.filter.CheckURL(ctx, src.URL); d.Verdict != exclusion.Allow {
			return fetched{res: result(src, d), done: true}
		}
	}
	data, final, err := c.read(ctx, src)
	if re := (*redirectError)(nil); errors.As(err, &re) {
		r := result(src, re.d)
		r.Reason += " (after redirect to " + re.url + ")"
		return fetched{res: r, done: true}
	}
	if err != nil {
		return fetched{res: unchecked(src, err), done: true}
	}
	if final != "" && final != src.URL {
		d := c.filter.CheckURL(ctx, final)
		if d.Verdict != exclusion.Allow {
			r := result(src, d)
			r.Reason += " (after redirect to " + final + ")"
			return fetched{res: r, done: true}
		}
	}
	return fetched{data: data}
}

// checked turns the Filter's decision on a fetched image into a Result.
func checked(src Source, data []byte, d exclusion.Decision) Result {
	r := result(src, d)
	if r.Verdict == exclusion.Allow {
		r.Bytes = len(data)
		r.SHA256 = sha256Hex(data)
	}
	return r
}

// redirectError stops a redirect to a URL the Filter does not allow.
type redirectError struct {
	url string
	d   exclusion.Decision
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("redirect to %s: %s", e.url, e.d.Verdict)
}

// result turns a Decision into a Result, keeping only the faces that
// justify the verdict.
func result(src Source, d exclusion.Decision) Result {
	r := Result{Source: src, Verdict: d.Verdict, RequestIDs: d.RequestIDs, Images: d.Images, FacesChecked: countFaces(d.Faces), Err: d.Err}
	for _, fc := range d.Faces {
		if fc.Verdict != exclusion.Allow {
			r.Faces = append(r.Faces, fc)
		}
	}
	r.Reason = reason(d)
	if r.Verdict == exclusion.Unchecked && r.Err == nil {
		r.Err = exclusion.ErrUnchecked
	}
	return r
}

// reason explains a decision in one line.
func reason(d exclusion.Decision) string {
	var parts []string
	for _, m := range d.Images {
		switch m.By {
		case exclusion.MatchPHash:
			parts = append(parts, fmt.Sprintf("perceptual hash of removed image, distance %d <= %d (%s)", m.Distance, m.Threshold, m.RequestID))
		case exclusion.MatchSHA256:
			parts = append(parts, fmt.Sprintf("same bytes as a removed image (%s)", m.RequestID))
		case exclusion.MatchURL:
			parts = append(parts, fmt.Sprintf("URL removed (%s)", m.RequestID))
		default:
			parts = append(parts, fmt.Sprintf("%s match (%s)", m.By, m.RequestID))
		}
	}
	for _, fc := range d.Faces {
		switch fc.Verdict {
		case exclusion.Allow:
			continue
		case exclusion.Unchecked:
			parts = append(parts, fmt.Sprintf("face at %v could not be checked", fc.Box))
			continue
		}
		for _, m := range fc.Matches {
			cmp := "<="
			if m.Distance > m.Threshold {
				cmp = ">"
			}
			parts = append(parts, fmt.Sprintf("%s: face at %v, distance %.3f %s %.2f (%s)", fc.Verdict, fc.Box, m.Distance, cmp, m.Threshold, m.RequestID))
		}
	}
	switch d.Verdict {
	case exclusion.Allow:
		if len(d.Images) == 0 && len(d.Faces) == 0 {
			return "no match"
		}
		return fmt.Sprintf("no match (%d faces checked)", countFaces(d.Faces))
	case exclusion.Unchecked:
		if d.Err != nil {
			parts = append(parts, d.Err.Error())
		}
		if len(parts) == 0 {
			return "not checked"
		}
	}
	return strings.Join(parts, "; ")
}

// Read fetches a URL or reads a file within Config.MaxBytes, without
// checking it. A redirect to a URL the Filter does not allow is an error.
// Safe for concurrent use.
func (c *Crawler) Read(ctx context.Context, src Source) ([]byte, error) {
	b, _, err := c.read(ctx, src)
	return b, err
}

// read fetches a URL or reads a file, within the size limit. final is the
// URL after redirects.
func (c *Crawler) read(ctx context.Context, src Source) (data []byte, final string, err error) {
	if src.URL == "" {
		f, err := os.Open(src.Path)
		if err != nil {
			return nil, "", fmt.Errorf("crawl: %w", err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Size() > c.cfg.MaxBytes {
			return nil, "", fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, fi.Size(), c.cfg.MaxBytes)
		}
		return c.limited(f)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.URL, nil)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrFetch, err)
	}
	req.Header.Set("User-Agent", "faceoptout-example-crawler/1")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	final = resp.Request.URL.String()
	if resp.StatusCode != http.StatusOK {
		return nil, final, fmt.Errorf("%w: HTTP status %s", ErrFetch, resp.Status)
	}
	if resp.ContentLength > c.cfg.MaxBytes {
		return nil, final, fmt.Errorf("%w: Content-Length %d, at most %d", ErrTooLarge, resp.ContentLength, c.cfg.MaxBytes)
	}
	data, _, err = c.limited(resp.Body)
	if err != nil {
		return nil, final, err
	}
	return data, final, nil
}

// limited reads r to the end, failing with ErrTooLarge beyond MaxBytes.
func (c *Crawler) limited(r io.Reader) ([]byte, string, error) {
	data, err := io.ReadAll(io.LimitReader(r, c.cfg.MaxBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("%w: reading: %w", ErrFetch, err)
	}
	if int64(len(data)) > c.cfg.MaxBytes {
		return nil, "", fmt.Errorf("%w: more than %d bytes", ErrTooLarge, c.cfg.MaxBytes)
	}
	return data, "", nil
}

// countFaces counts the distinct faces of a decision: CheckImage may find a
// face once per rotation it tries, at about the same box.
func countFaces(fcs []exclusion.FaceCheck) int {
	var seen []image.Rectangle
outer:
	for _, fc := range fcs {
		for _, b := range seen {
			if exclusion.IoU(b, fc.Box) > 0.5 {
				continue outer
			}
		}
		seen = append(seen, fc.Box)
	}
	return len(seen)
}
