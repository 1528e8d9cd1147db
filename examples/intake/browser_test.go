package main

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// chromium returns the path of a Chromium or Chrome binary, or skips t
// (fails it under CI, where make test installs Debian's chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium binary on PATH: install Debian's chromium (make test does) to run the browser test"
	if testenv.CI() {
		t.Fatal("CI=true: " + msg)
	}
	t.Skip(msg)
	return ""
}

// TestBrowser drives the intake app in a real browser: a requester submits
// a face opt-out with a real photo, confirms the address with the link the
// mail sink received, a reviewer approves it on the review page (seeing the
// face's thumbnail), and that person's other photo is then blocked while a
// stranger's is allowed. Screenshots of each page go to t.ArtifactDir()
// (kept with go test -artifacts -outputdir DIR).
func TestBrowser(t *testing.T) {
	if testing.Short() && !testenv.CI() {
		t.Skip("-short: the browser test starts chromium and the dlib models")
	}
	exe := chromium(t)
	emb := realEmbedder(t)
	bbt := testenv.BBT(t)
	env := newEnv(t, emb)
	shots := t.ArtifactDir()
	t.Logf("screenshots in %s", shots)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.WindowSize(1000, 1200),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancel()

	// run runs one step's actions, giving each step at most a minute.
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	value := func(step string, a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(bctx, a)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return v
	}
	attr := func(step string, a chromedp.Action[chromedp.AttributeResult]) string {
		t.Helper()
		v, err := chromedp.Run(bctx, a)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return v.Value
	}
	shot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// 1. The requester fills in the face opt-out form with penny1.png.
	const email = "penny@example.org"
	run("filling in the form",
		chromedp.Navigate(env.srv.URL+"/optout"),
		chromedp.WaitVisible(chromedp.ID("photo")),
		chromedp.SetValue(chromedp.ID("country"), "US"),
		chromedp.SendKeys(chromedp.ID("reason"), "I do not want my face in a face search engine."),
		chromedp.SendKeys(chromedp.ID("name"), "Penny Teller"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("phone"), "+15551230000"),
		chromedp.SetUploadFiles(chromedp.ID("photo"), []string{filepath.Join(bbt, "penny", "penny1.png")}),
	)
	shot("1-form")
	run("submitting", chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.ID("request-id")))
	id := value("reading the case id", chromedp.Text(chromedp.ID("request-id")))
	shot("2-sent")
	req, err := env.reg.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if req.Status != exclusion.Unconfirmed {
		t.Fatalf("submitted request is %s, want unconfirmed", req.Status)
	}

	// 2. The confirmation link from the mail sink.
	mctx, mcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer mcancel()
	m, err := env.sink.Wait(mctx, email)
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`http://\S+/confirm\?\S+`).FindString(m.Body())
	if link == "" {
		t.Fatalf("no confirmation link in the mail:\n%s", m.Data)
	}
	run("opening the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("confirm")))
	shot("3-confirm")
	run("confirming", chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("flash")))
	state := attr("reading the status", chromedp.AttributeValue(chromedp.ID("status"), "data-status"))
	shot("4-status")
	if state != string(exclusion.Pending) {
		t.Fatalf("status page shows %q after confirming, want pending", state)
	}

	// 3. A reviewer sees the face thumbnail and approves.
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("rita:"+token))
	if _, err := chromedp.Call(bctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}}); err != nil {
		t.Fatal(err)
	}
	run("opening the review page", chromedp.Navigate(env.srv.URL+"/review"), chromedp.WaitVisible(chromedp.ID("approve-"+id)))
	thumbs, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("img.thumb").length`))
	if err != nil {
		t.Fatal(err)
	}
	src := attr("reading the thumbnail", chromedp.AttributeValue(chromedp.CSS("img.thumb"), "src"))
	complete, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { const i = document.querySelector("img.thumb"); return i.complete && i.naturalWidth > 0 })()`))
	if err != nil {
		t.Fatal(err)
	}
	shot("5-review")
	run("approving", chromedp.Click(chromedp.ID("approve-"+id)), chromedp.WaitVisible(chromedp.ID("flash")))
	shot("6-approved")
	if !complete {
		t.Errorf("the browser did not render the thumbnail")
	}
	if thumbs != 1 || !strings.HasPrefix(src, "data:image/jpeg;base64,") {
		t.Errorf("review page shows %d thumbnails (first src %.40q), want 1 JPEG", thumbs, src)
	}
	req, err = env.reg.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if req.Status != exclusion.Approved || req.Thumbnails != 0 {
		t.Fatalf("after approval: %s with %d thumbnails, want approved with none", req.Status, req.Thumbnails)
	}
	if ents, _ := os.ReadDir(env.thumbDir); len(ents) != 0 {
		t.Errorf("%d files left in the thumbnail directory after the decision", len(ents))
	}

	// 4. A crawl of her other photo is blocked; a stranger is allowed.
	f, err := exclusion.NewFilter(env.reg, emb, exclusion.DefaultFilterConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		want exclusion.Verdict
	}{
		{filepath.Join("penny", "penny2.png"), exclusion.Block},
		{filepath.Join("howard", "howard1.png"), exclusion.Allow},
	} {
		b, err := os.ReadFile(filepath.Join(bbt, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if d := f.CheckImageBytes(context.Background(), b); d.Verdict != tc.want {
			t.Errorf("%s: %v (%v), want %v", tc.file, d.Verdict, d.Err, tc.want)
		}
	}
	decision := regexp.MustCompile(`was approved`)
	if msgs := env.sink.Messages(); len(msgs) != 2 || !decision.Match(msgs[1].Data) {
		t.Errorf("mail sent: %d messages, want the confirmation and the approval", len(msgs))
	}
}
