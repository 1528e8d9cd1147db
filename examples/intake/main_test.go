package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/internal/testenv"
)

// TestOpenRegistry opens registries made by faceoptout init (registrydir)
// with each model, plain and encrypted, as the app does: without
// --embedder it loads the embedder of the registry's own model.
func TestOpenRegistry(t *testing.T) {
	models := testenv.ONNX(t)
	testenv.Models(t)
	ctx := context.Background()
	flags := func(t *testing.T, args ...string) *embedder.Flags {
		fs := flag.NewFlagSet("intake", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		ef := embedder.RegisterDefault(fs, nil, embedder.ONNX)
		if err := fs.Parse(append([]string{"--models", models, "--workers", "1"}, args...)); err != nil {
			t.Fatal(err)
		}
		return ef
	}
	key := make([]byte, exclusion.KeySize)
	key[0] = 1
	create := func(t *testing.T, kind string, opts ...registrydir.Option) string {
		dir := filepath.Join(t.TempDir(), "reg")
		emb, err := flags(t, "--embedder", kind).New()
		if err != nil {
			t.Fatal(err)
		}
		defer emb.Close()
		reg, err := registrydir.Create(ctx, dir, registrydir.Embedder{Embedder: emb}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Close(); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	onnxDir, dlibDir := create(t, embedder.ONNX), create(t, embedder.Dlib)
	sealed := create(t, embedder.Dlib, registrydir.WithKey(key))
	tests := []struct {
		name  string
		dir   string
		args  []string // embedder flags
		opts  []registrydir.Option
		model string // the registry's model name; "" when it must not open
		err   error
	}{
		{name: "ONNX registry", dir: onnxDir, model: "onnx"},
		{name: "dlib registry", dir: dlibDir, model: embed.DlibModelName},
		{name: "dlib registry, --embedder dlib", dir: dlibDir, args: []string{"--embedder", "dlib"}, model: embed.DlibModelName},
		{name: "ONNX registry, --embedder dlib", dir: onnxDir, args: []string{"--embedder", "dlib"}, err: exclusion.ErrModel},
		{name: "encrypted, with its key", dir: sealed, opts: []registrydir.Option{registrydir.WithKey(key)}, model: embed.DlibModelName},
		{name: "encrypted, no key", dir: sealed, err: exclusion.ErrKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]registrydir.Option{registrydir.WithConfig(exclusion.DefaultConfig())}, tc.opts...)
			reg, closeReg, err := openRegistry(ctx, tc.dir, flags(t, tc.args...), opts)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("openRegistry: %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer closeReg()
			got := reg.Models()
			if len(got) != 1 || (tc.model == "onnx") == (got[0].Name == embed.DlibModelName) {
				t.Errorf("models %v, want %s", got, tc.model)
			}
		})
	}
}
