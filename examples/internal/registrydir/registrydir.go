// Package registrydir keeps a faceoptout registry in a directory, for the
// example programs: DIR/registry.db is the boltstore file and
// DIR/embedder.json names, for people reading the directory, the embedder
// (face model) the registry's faces were enrolled with. The registry itself
// records the models' identities and refuses an embedder of another model
// (exclusion.ErrModel): a registry is never checked with another model's
// descriptors, which would never match (a silent fail-open).
//
// # Basics
//
//	ef := embedder.Defaults(os.Getenv, modelsFlag, embedder.ONNX) // or embedder.Register's flags
//	sess, err := registrydir.OpenFromEnv(ctx, os.Getenv, registryFlag, ef)
//	defer sess.Close() // sess.Registry, and sess.Embedder of the registry's own model
//
// OpenSession does the same for a location and options the program has
// resolved itself; Open takes an embedder the program loaded (nil for a
// registry that is only listed and reviewed); Models reads the registry's
// models without one.
//
// With an operator key (ReadKeyFile of --key-file or $FACEOPTOUT_KEY_FILE,
// read by the program), WithKey(key) encrypts descriptors and image hashes
// in registry.db; their data keys live in registry.keys beside it.
//
// # Caveats
//
// One process at a time owns a registry (boltstore's file lock): a second
// process waits up to two seconds, then fails. Approvals made by one process
// are seen by another only when it reopens the registry.
package registrydir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/examples/internal/embedder"
	"github.com/faceoptout/faceoptout/examples/internal/progenv"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/boltstore"
)

// Env is the environment variable naming the registry directory when no
// --registry flag is given.
const Env = "FACEOPTOUT_REGISTRY"

// File names inside a registry directory.
const (
	DBFile       = "registry.db"
	EmbedderFile = "embedder.json"
)

// DlibModel names the dlib ResNet face model, the embedder of real registries.
const DlibModel = "dlib_face_recognition_resnet_model_v1"

// ErrNoDir means neither --registry nor $FACEOPTOUT_REGISTRY names a directory.
var ErrNoDir = errors.New("registrydir: no registry directory: use --registry DIR or set " + Env)

// ErrModelMismatch means a registry was opened with another embedder than
// the one its faces were enrolled with. It is exclusion.ErrModel.
var ErrModelMismatch = exclusion.ErrModel

// Embedder is an embed.Embedder with a name for its face model, written to
// embedder.json. It is an embed.Embedder itself.
type Embedder struct {
	embed.Embedder
	// Name names the descriptor model for people; "" means the
	// embedder's Model().String(). The registry checks the model's
	// identity (embed.Model), not this name.
	Name string
}

// name returns emb.Name, else the embedder's model.
func (emb Embedder) name() string {
	if emb.Name != "" || emb.Embedder == nil {
		return emb.Name
	}
	return emb.Embedder.Model().String()
}

// Resolve returns flagValue, else $FACEOPTOUT_REGISTRY looked up through
// env (main's os.Getenv), else ErrNoDir.
func Resolve(flagValue string, env progenv.Getenv) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if env != nil {
		if v := env(Env); v != "" {
			return v, nil
		}
	}
	return "", ErrNoDir
}

// NewDlib loads the dlib models from dir with the given number of workers
// (at least 1). Close the returned *embed.Dlib when done.
func NewDlib(dir string, workers int) (*embed.Dlib, Embedder, error) {
	cfg := embed.DefaultDlibConfig()
	cfg.ModelsDir = dir
	cfg.Workers = max(1, workers)
	d, err := embed.NewDlib(cfg)
	if err != nil {
		return nil, Embedder{}, err
	}
	return d, Embedder{Embedder: d, Name: DlibModel}, nil
}

type meta struct {
	Model   string    `json:"model"`
	Created time.Time `json:"created"`
}

// Create makes dir (if needed) and a new registry in it, enrolling faces
// with emb (the registry records its model). It fails if dir already holds
// a registry. WithKey encrypts it (DIR/registry.keys holds its data keys).
func Create(ctx context.Context, dir string, emb Embedder, opts ...Option) (*exclusion.Registry, error) {
	if emb.Embedder == nil {
		return nil, errors.New("registrydir: creating a registry needs the embedder whose model it records")
	}
	if IsPostgres(dir) {
		cfg, err := config(dir, true, opts)
		if err != nil {
			return nil, err
		}
		return postgres(ctx, dir, emb, true, cfg)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("registrydir: %w", err)
	}
	b, err := json.Marshal(meta{Model: emb.name(), Created: time.Now().UTC()})
	if err != nil {
		return nil, err
	}
	mp := filepath.Join(dir, EmbedderFile)
	f, err := os.OpenFile(mp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("registrydir: %s holds a registry already? %w", dir, err)
	}
	_, werr := f.Write(append(b, '\n'))
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		_ = os.Remove(mp)
		return nil, fmt.Errorf("registrydir: %w", err)
	}
	st, err := boltstore.Create(filepath.Join(dir, DBFile), boltstore.Config{})
	if err != nil {
		_ = os.Remove(mp)
		return nil, err
	}
	cfg, err := config(dir, true, opts)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	reg, err := exclusion.Create(ctx, st, emb.Embedder, cfg)
	if err != nil {
		_ = st.Close()
		release(cfg)
		return nil, err
	}
	return reg, nil
}

// Open opens the registry in dir. emb.Embedder may be nil for a registry
// that is only listed and reviewed; a non-nil embedder must be of the model
// the registry was created with (an error wrapping ErrModelMismatch, that
// is exclusion.ErrModel, otherwise). An encrypted registry needs WithKey
// (exclusion.ErrKey otherwise).
func Open(ctx context.Context, dir string, emb Embedder, opts ...Option) (*exclusion.Registry, error) {
	if IsPostgres(dir) {
		cfg, err := config(dir, false, opts)
		if err != nil {
			return nil, err
		}
		return postgres(ctx, dir, emb, false, cfg)
	}
	b, err := os.ReadFile(filepath.Join(dir, EmbedderFile))
	if err != nil {
		return nil, fmt.Errorf("registrydir: %s is not a registry (run init first): %w", dir, err)
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil || m.Model == "" {
		return nil, fmt.Errorf("registrydir: %s: unreadable %s: %w", dir, EmbedderFile, errors.Join(err, exclusion.ErrCorrupt))
	}
	st, err := boltstore.Open(filepath.Join(dir, DBFile), boltstore.Config{})
	if err != nil {
		return nil, err
	}
	cfg, err := config(dir, false, opts)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	reg, err := exclusion.Open(ctx, st, emb.Embedder, cfg)
	if err != nil {
		_ = st.Close()
		release(cfg)
		return nil, err
	}
	return reg, nil
}

// Models returns the face models of the registry at loc (a directory or a
// PostgreSQL location), opening it without an embedder: what a program
// needs to load the embedder that matches.
func Models(ctx context.Context, loc string, opts ...Option) ([]embed.Model, error) {
	reg, err := Open(ctx, loc, Embedder{}, opts...)
	if err != nil {
		return nil, err
	}
	models := reg.Models()
	if err := reg.Close(); err != nil {
		return nil, err
	}
	if len(models) == 0 {
		return nil, fmt.Errorf("registrydir: %s records no face model: %w", loc, exclusion.ErrCorrupt)
	}
	return models, nil
}

// Model returns the model name embedder.json in dir records.
func Model(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, EmbedderFile))
	if err != nil {
		return "", fmt.Errorf("registrydir: %w", err)
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return "", fmt.Errorf("registrydir: %w", err)
	}
	return m.Model, nil
}

// Session is an open registry with the embedder that checks against it,
// as the example programs use them.
type Session struct {
	Registry *exclusion.Registry
	Embedder Embedder
	emb      embedder.Embedder
}

// ApproximateAboveEnv is the environment variable the programs read for
// WithApproximateAbove: a number of faces (0 or unset: exact searches).
const ApproximateAboveEnv = "FACEOPTOUT_APPROXIMATE_ABOVE"

// EnvOptions returns the options the environment asks for: WithKey with
// the operator key in the file $FACEOPTOUT_KEY_FILE names, if any, and
// WithApproximateAbove with $FACEOPTOUT_APPROXIMATE_ABOVE, if set. env is
// main's os.Getenv.
func EnvOptions(env progenv.Getenv) ([]Option, error) {
	var opts []Option
	if env != nil {
		if v := env(ApproximateAboveEnv); v != "" {
			n, err := ParseApproximateAbove(v)
			if err != nil {
				return nil, fmt.Errorf("registrydir: $%s: %w", ApproximateAboveEnv, err)
			}
			opts = append(opts, WithApproximateAbove(n))
		}
	}
	p := keyFileFrom(env)
	if p == "" {
		return opts, nil
	}
	key, err := ReadKeyFile(p)
	if err != nil {
		return nil, err
	}
	return append(opts, WithKey(key)), nil
}

// ParseApproximateAbove parses a number of faces for WithApproximateAbove:
// a decimal integer, 0 or more.
func ParseApproximateAbove(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a number of faces (0 or more)", s)
	}
	return n, nil
}

// OpenFromEnv resolves the registry location (registryFlag, else
// $FACEOPTOUT_REGISTRY) and opens it as OpenSession does, encrypted with
// the operator key in the file $FACEOPTOUT_KEY_FILE names, if any; env is
// main's os.Getenv.
func OpenFromEnv(ctx context.Context, env progenv.Getenv, registryFlag string, ef *embedder.Flags) (*Session, error) {
	loc, err := Resolve(registryFlag, env)
	if err != nil {
		return nil, err
	}
	opts, err := EnvOptions(env)
	if err != nil {
		return nil, err
	}
	return OpenSession(ctx, loc, ef, opts...)
}

// OpenSession opens the registry at loc (a directory or a PostgreSQL
// location) with opts, and loads the embedder of the model its faces were
// enrolled with, configured by ef (its kind only when --embedder was
// given: exclusion.Open refuses another model than the registry's). Close
// the session when done.
func OpenSession(ctx context.Context, loc string, ef *embedder.Flags, opts ...Option) (*Session, error) {
	if !ef.KindSet {
		models, err := Models(ctx, loc, opts...)
		if err != nil {
			return nil, err
		}
		ef.Kind = embedder.KindOf(models[0])
	}
	e, err := ef.New()
	if err != nil {
		return nil, err
	}
	emb := Embedder{Embedder: e}
	reg, err := Open(ctx, loc, emb, opts...)
	if err != nil {
		_ = e.Close()
		return nil, err
	}
	return &Session{Registry: reg, Embedder: emb, emb: e}, nil
}

// Close closes the registry, then the embedder. It is idempotent.
func (s *Session) Close() error {
	return errors.Join(s.Registry.Close(), s.emb.Close())
}
