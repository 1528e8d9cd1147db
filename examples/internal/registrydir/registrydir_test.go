package registrydir_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faceoptout/faceoptout/examples/internal/exampletest"
	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

func TestCreateOpen(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "reg")
	fake := exampletest.Embedder()
	var id string
	create(t, dir, fake, func(reg *exclusion.Registry) { id = exampletest.OptOut(t, reg, 1) })
	// The registry checks the model's identity, whatever the name says.
	other := registrydir.Embedder{Embedder: &exclusiontest.Embedder{Dim: 64}, Name: fake.Name}
	tests := []struct {
		name string
		dir  string
		emb  registrydir.Embedder
		err  error // nil: opens
	}{
		{name: "same model", dir: dir, emb: fake},
		{name: "no embedder (review only)", dir: dir, emb: registrydir.Embedder{}},
		{name: "another model", dir: dir, emb: other, err: registrydir.ErrModelMismatch},
		{name: "not a registry", dir: t.TempDir(), emb: fake, err: os.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg, err := registrydir.Open(ctx, tc.dir, tc.emb)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Open: %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			if r, err := reg.Get(ctx, id); err != nil || r.Status != exclusion.Approved {
				t.Errorf("Get: %v %v", r, err)
			}
		})
	}
	if _, err := registrydir.Create(ctx, dir, fake); err == nil {
		t.Error("Create over an existing registry succeeded")
	}
	if m, err := registrydir.Model(dir); err != nil || m != exampletest.FakeModel {
		t.Errorf("Model = %q, %v", m, err)
	}
}

func TestResolve(t *testing.T) {
	env := func(k string) string {
		if k == registrydir.Env {
			return "/from/env"
		}
		return ""
	}
	if _, err := registrydir.Resolve("", nil); !errors.Is(err, registrydir.ErrNoDir) {
		t.Errorf("Resolve: %v", err)
	}
	if d, _ := registrydir.Resolve("", env); d != "/from/env" {
		t.Errorf("Resolve = %q", d)
	}
	if d, _ := registrydir.Resolve("/flag", env); d != "/flag" {
		t.Errorf("Resolve = %q", d)
	}
}

// TestWithConfigAndModels opens a registry with a configuration of the
// program's own (WithConfig) and reads its models without an embedder
// (Models), as the intake app does.
func TestWithConfigAndModels(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "reg")
	fake := exampletest.Embedder()
	create(t, dir, fake, nil)
	models, err := registrydir.Models(ctx, dir)
	if want := fake.Embedder.Model(); err != nil || len(models) != 1 || models[0] != want {
		t.Fatalf("Models = %v, %v; want [%v]", models, err, want)
	}
	if _, err := registrydir.Models(ctx, t.TempDir()); err == nil {
		t.Error("Models of an empty directory succeeded")
	}
	tests := []struct {
		name string
		opts []registrydir.Option
		want exclusion.Status
	}{
		{"default configuration", nil, exclusion.Pending},
		{"confirmation required", []registrydir.Option{registrydir.WithConfig(confirming())}, exclusion.Unconfirmed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg, err := registrydir.Open(ctx, dir, fake, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			req, err := reg.Submit(ctx, exampletest.Submission(exclusion.FaceOptOut, exampletest.Photo(2)), "test")
			if err != nil {
				t.Fatal(err)
			}
			if req.Status != tc.want {
				t.Errorf("a new request is %s, want %s", req.Status, tc.want)
			}
		})
	}
}

// confirming is the default configuration with confirmation required.
func confirming() exclusion.Config {
	cfg := exclusion.DefaultConfig()
	cfg.Confirm = exclusion.ConfirmConfig{Required: true, Within: time.Hour}
	return cfg
}

// create makes a registry in dir, calls fill (if not nil) with it and
// closes it.
func create(t *testing.T, dir string, emb registrydir.Embedder, fill func(*exclusion.Registry)) {
	t.Helper()
	reg, err := registrydir.Create(context.Background(), dir, emb)
	if err != nil {
		t.Fatal(err)
	}
	if fill != nil {
		fill(reg)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
}
