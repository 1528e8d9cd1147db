package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/embed/onnx"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/examples/internal/exampletest"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// fakeOperator uses the fake embedder of exclusiontest and the process
// environment (tests set it with t.Setenv).
func fakeOperator() operator {
	return operator{
		env: os.Getenv,
		newEmbedder: func(*embedder.Flags) (registrydir.Embedder, func() error, error) {
			return exampletest.Embedder(), func() error { return nil }, nil
		},
	}
}

// cli runs one command in-process, as run does.
func cli(t *testing.T, o operator, args ...string) (string, string, error) {
	t.Helper()
	c, ok := o.commands()[args[0]]
	if !ok {
		t.Fatalf("no command %q", args[0])
	}
	var out, errb bytes.Buffer
	err := c.run(context.Background(), args[1:], &out, &errb)
	return out.String(), errb.String(), err
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var submittedRE = regexp.MustCompile(`submitted ([A-Z0-9]+)`)

func submitted(t *testing.T, out string) string {
	t.Helper()
	m := submittedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no request id in %q", out)
	}
	return m[1]
}

func TestRunHelpListsRegistryCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), nil, []string{"help"}, &out, &errb); code != 0 {
		t.Fatalf("help: exit %d", code)
	}
	for _, c := range []string{"init", "submit", "list", "show", "pick", "approve", "reject", "withdraw", "check", "sweep", "audit", "embed"} {
		if !strings.Contains(out.String(), "  "+c+" ") {
			t.Errorf("help does not list %s:\n%s", c, out.String())
		}
	}
	// Benchmarks and evaluations are examples/bench's, not the operator's.
	for _, c := range []string{"bench", "eval"} {
		if strings.Contains(out.String(), "  "+c+" ") {
			t.Errorf("help lists %s, a command of examples/bench:\n%s", c, out.String())
		}
	}
	// Without a registry, a registry command fails (exit 1) and says why.
	t.Setenv(registrydir.Env, "")
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), nil, []string{"list"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "--registry") {
		t.Errorf("list without registry: exit %d, stderr %q", code, errb.String())
	}
}

func TestWorkflow(t *testing.T) {
	o := fakeOperator()
	dir := t.TempDir()
	reg := filepath.Join(dir, "reg")
	t.Setenv(registrydir.Env, reg) // --registry overrides it below where given
	person1 := writeFile(t, dir, "p1.png", exampletest.Photo(1))
	person1b := writeFile(t, dir, "p1b.png", exampletest.PNG(exclusiontest.Image(400, 300, exampletest.Face(1, 200, 150))))
	group := writeFile(t, dir, "group.png", exampletest.Photo(2, 3))
	person4 := writeFile(t, dir, "p4.png", exampletest.Photo(4))
	poster := writeFile(t, dir, "poster.png", exampletest.PNG(exampletest.Pattern(300, 200, 2)))
	form := []string{"--country", "de", "--reason", "Never index my face.", "--name", "Jane Doe", "--email", "jane@example.org", "--phone", "+4915123456789"}

	if out, _, err := cli(t, o, "init", "--registry", reg); err != nil || !strings.Contains(out, "created registry") {
		t.Fatalf("init: %v %q", err, out)
	}
	if _, _, err := cli(t, o, "init"); err == nil {
		t.Fatal("init over an existing registry succeeded")
	}

	t.Run("invalid submission names each bad field", func(t *testing.T) {
		_, stderr, err := cli(t, o, "submit", "--kind", "face", "--country", "XX", "--email", "nope", "--phone", "123", "--name", "J", "--reason", "r", "--photo", person1)
		if !errors.Is(err, exclusion.ErrInvalidRequest) {
			t.Fatalf("err %v", err)
		}
		for _, f := range []string{"country:", "email:", "phone:"} {
			if !strings.Contains(stderr, f) {
				t.Errorf("stderr lacks %q:\n%s", f, stderr)
			}
		}
	})

	out, _, err := cli(t, o, append([]string{"submit", "--kind", "face", "--photo", person1}, form...)...)
	if err != nil {
		t.Fatal(err)
	}
	face := submitted(t, out)
	if !strings.Contains(out, "enrolled") {
		t.Errorf("submit does not report the enrolled face:\n%s", out)
	}
	out, _, err = cli(t, o, append([]string{"submit", "--kind", "face", "--photo", group}, form...)...)
	if err != nil {
		t.Fatal(err)
	}
	several := submitted(t, out)
	if !strings.Contains(out, "several") || !strings.Contains(out, "not-picked") {
		t.Errorf("submit of a group photo:\n%s", out)
	}
	out, _, err = cli(t, o, append([]string{"submit", "--kind", "removal", "--url", "https://example.org/poster.png", "--photo", poster}, form...)...)
	if err != nil {
		t.Fatal(err)
	}
	removal := submitted(t, out)

	steps := []struct {
		name    string
		args    []string
		wantErr error
		want    []string // substrings of stdout
		not     []string
	}{
		{name: "list pending", args: []string{"list", "--status", "pending"}, want: []string{face, several, removal, "3 requests"}},
		{name: "approve without a face", args: []string{"approve", several, "--by", "alice"}, wantErr: exclusion.ErrNothingToBlock},
		{name: "pick a face", args: []string{"pick", several, "--photo", "0", "--box", "20,40,120,140", "--by", "alice"}, want: []string{"enrolled"}},
		{name: "approve needs --by", args: []string{"approve", face}, wantErr: nil, want: nil},
		{name: "approve face", args: []string{"approve", face, "--by", "alice", "--note", "id checked"}, want: []string{face + ": approved"}},
		{name: "approve removal", args: []string{"approve", removal, "--by", "alice"}, want: []string{"approved"}},
		{name: "reject the picked one", args: []string{"reject", several, "--by", "bob"}, want: []string{"rejected"}},
		{name: "approve a rejected request", args: []string{"approve", several, "--by", "bob"}, wantErr: exclusion.ErrTransition},
		{name: "check opted-out face", args: []string{"check", person1b}, want: []string{`"verdict":"block"`, face, `"may_index":false`, `"distance":0`}},
		{name: "check other face", args: []string{"check", person4}, want: []string{`"verdict":"allow"`, `"may_index":true`}},
		{name: "check removed URL", args: []string{"check", "https://example.org/poster.png"}, want: []string{`"verdict":"block"`, removal, `"by":"url"`}},
		{name: "check missing file", args: []string{"check", filepath.Join(dir, "nope.png")}, want: []string{`"verdict":"unchecked"`, `"error"`}},
		{name: "list approved", args: []string{"list", "--status", "approved"}, want: []string{face, removal, "2 requests"}, not: []string{several}},
		{name: "show keeps no descriptors", args: []string{"show", face, "--json"}, want: []string{`"status": "approved"`, `"action": "approve"`, "id checked"}, not: []string{"descriptor"}},
		{name: "show unknown", args: []string{"show", "NOPE"}, wantErr: exclusion.ErrNotFound},
		{name: "withdraw", args: []string{"withdraw", face, "--by", "jane"}, want: []string{"withdrawn"}},
		{name: "check after withdrawal", args: []string{"check", person1b}, want: []string{`"verdict":"allow"`}},
		{name: "audit", args: []string{"audit"}, want: []string{"submit", "approve", "reject", "withdraw", "pick", `"alice"`, `"jane"`}},
		{name: "audit of one request", args: []string{"audit", face, "--json"}, want: []string{`"request_id":"` + face}, not: []string{several}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out, stderr, err := cli(t, o, st.args...)
			if st.name == "approve needs --by" {
				if err == nil {
					t.Fatal("approve without --by succeeded")
				}
				return
			}
			if st.wantErr != nil {
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("err %v, want %v", err, st.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			for _, w := range st.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, n := range st.not {
				if strings.Contains(out, n) {
					t.Errorf("stdout has %q:\n%s", n, out)
				}
			}
		})
	}
}

func TestSweep(t *testing.T) {
	o := fakeOperator()
	dir := t.TempDir()
	reg := filepath.Join(dir, "reg")
	if _, _, err := cli(t, o, "init", "--registry", reg); err != nil {
		t.Fatal(err)
	}
	form := []string{"--registry", reg, "--country", "DE", "--reason", "r", "--name", "Jane Doe", "--email", "jane@example.org", "--phone", "+4915123456789"}
	out, _, err := cli(t, o, append([]string{"submit", "--kind", "face", "--photo", writeFile(t, dir, "p5.png", exampletest.Photo(5))}, form...)...)
	if err != nil {
		t.Fatal(err)
	}
	id := submitted(t, out)
	if _, _, err := cli(t, o, "approve", id, "--by", "alice", "--registry", reg); err != nil {
		t.Fatal(err)
	}
	line := func(id any, person int) string {
		d := exclusiontest.Descriptor(exclusiontest.Person(person))
		b, _ := json.Marshal(map[string]any{"id": id, "descriptor": d[:]})
		return string(b) + "\n"
	}
	tests := []struct {
		name    string
		input   string
		want    string
		wantErr bool
	}{
		{name: "purges the opted-out face only", input: line("img-1", 6) + line("img-2", 5) + "\n" + line(42, 5) + line("img-4", 7), want: "img-2\n42\n"},
		{name: "nothing to purge", input: line("a", 6), want: ""},
		{name: "malformed line stops", input: line("a", 5) + "{not json}\n", wantErr: true},
		{name: "short descriptor stops", input: `{"id":"x","descriptor":[1,2,3]}` + "\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := writeFile(t, t.TempDir(), "index.jsonl", []byte(tc.input))
			out, _, err := cli(t, o, "sweep", "--registry", reg, f)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; stdout %q", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out != tc.want {
				t.Errorf("stdout %q, want %q", out, tc.want)
			}
		})
	}
}

func TestModelMismatch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reg")
	other := operator{newEmbedder: func(*embedder.Flags) (registrydir.Embedder, func() error, error) {
		return registrydir.Embedder{Embedder: &exclusiontest.Embedder{Dim: 64}}, func() error { return nil }, nil
	}}
	if _, _, err := cli(t, other, "init", "--registry", dir); err != nil { // records the 64-D fake model
		t.Fatal(err)
	}
	_, _, err := cli(t, fakeOperator(), "check", "--registry", dir, "x.png")
	if !errors.Is(err, exclusion.ErrModel) {
		t.Errorf("checking a registry with an embedder of another model: %v, want exclusion.ErrModel", err)
	}
}

// TestRealModels runs init --embedder dlib, then submit, approve and check
// without --embedder (they use the registry's model, dlib's) on the bbt
// crops.
func TestRealModels(t *testing.T) {
	models, faces := testenv.Models(t), testenv.BBT(t)
	reg := filepath.Join(t.TempDir(), "reg")
	o := operator{}
	if out, _, err := cli(t, o, "init", "--registry", reg, "--models", models, "--embedder", "dlib"); err != nil || !strings.Contains(out, embed.DlibModelName) {
		t.Fatalf("init --embedder dlib: %v\n%s", err, out)
	}
	bbt := func(p string) string { return filepath.Join(faces, p) }
	out, _, err := cli(t, o, "submit", "--registry", reg, "--models", models, "--kind", "face", "--country", "US", "--reason", "opt out",
		"--name", "Sheldon Cooper", "--email", "sheldon@example.org", "--phone", "+15551230000", "--photo", bbt("sheldon/sheldon1.png"))
	if err != nil {
		t.Fatal(err)
	}
	id := submitted(t, out)
	if _, _, err := cli(t, o, "approve", id, "--by", "alice", "--registry", reg); err != nil {
		t.Fatal(err)
	}
	out, _, err = cli(t, o, "check", "--registry", reg, "--models", models, bbt("sheldon/sheldon3.png"), bbt("raj/raj2.png"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"verdict":"block"`) || !strings.Contains(lines[0], id) || !strings.Contains(lines[1], `"verdict":"allow"`) {
		t.Errorf("check:\n%s", out)
	}
}

// TestONNXEmbedder runs init (the ONNX model by default), then submit,
// approve and check with --embedder onnx, and checks that the registry
// refuses the dlib embedder.
func TestONNXEmbedder(t *testing.T) {
	models, faces := testenv.ONNX(t), testenv.BBT(t)
	testenv.Models(t)
	reg := filepath.Join(t.TempDir(), "reg")
	o := operator{}
	onnxFlags := []string{"--registry", reg, "--models", models, "--embedder", "onnx", "--workers", "2"}
	if out, _, err := cli(t, o, "init", "--registry", reg, "--models", models, "--workers", "2"); err != nil || !strings.Contains(out, onnx.DefaultConfig().Model.Name) {
		t.Fatalf("init: %v\n%s", err, out)
	}
	bbt := func(p string) string { return filepath.Join(faces, p) }
	out, _, err := cli(t, o, append(append([]string{"submit"}, onnxFlags...), "--kind", "face", "--country", "US", "--reason", "opt out",
		"--name", "Sheldon Cooper", "--email", "sheldon@example.org", "--phone", "+15551230000", "--photo", bbt("sheldon/sheldon1.png"))...)
	if err != nil {
		t.Fatal(err)
	}
	id := submitted(t, out)
	if _, _, err := cli(t, o, "approve", id, "--by", "alice", "--registry", reg); err != nil {
		t.Fatal(err)
	}
	// Without --threshold the model's calibrated threshold applies; with
	// it, --threshold does.
	for _, extra := range [][]string{nil, {"--threshold", "1.0"}} {
		out, _, err = cli(t, o, append(append(append([]string{"check"}, extra...), onnxFlags...), bbt("sheldon/sheldon3.png"), bbt("raj/raj2.png"))...)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], `"verdict":"block"`) || !strings.Contains(lines[0], id) || !strings.Contains(lines[1], `"verdict":"allow"`) {
			t.Errorf("check %v:\n%s", extra, out)
		}
		want := fmt.Sprintf(`"threshold":%v`, onnx.DefaultThreshold)
		if extra != nil {
			want = `"threshold":1`
		}
		if !strings.Contains(lines[0], want) {
			t.Errorf("check %v: no %s in\n%s", extra, want, lines[0])
		}
	}
	out, _, err = cli(t, o, append(append([]string{"check"}, onnxFlags...), bbt("sheldon/sheldon3.png"), bbt("raj/raj2.png"))...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"verdict":"block"`) || !strings.Contains(lines[0], id) || !strings.Contains(lines[1], `"verdict":"allow"`) {
		t.Errorf("check:\n%s", out)
	}
	_, _, err = cli(t, o, "check", "--registry", reg, "--models", models, "--embedder", "dlib", bbt("raj/raj2.png"))
	if !errors.Is(err, exclusion.ErrModel) {
		t.Errorf("checking an ONNX registry with dlib: %v, want exclusion.ErrModel", err)
	}
}
