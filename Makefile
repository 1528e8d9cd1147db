# faceoptout: the two commands a user needs.
#   make demo   set up, then run the main demo (enrol opt-outs, crawl, show what was blocked and why)
#   make test   set up, then go vet and go test -race over the whole module, the pure-Go
#               packages built with CGO_ENABLED=0, and the go-face baseline (gofacebaseline tag)
#               vetted, built and tested
# Both install what a fresh Debian machine lacks: the C libraries (as root) and
# the dlib model files (scripts/fetch-models.sh, checked against pinned SHA-256s).

SHELL := /bin/bash
# libopenblas0-serial: dlib's nets call cblas_sgemm through libblas.so.3; Debian's
# alternatives then pick OpenBLAS (AVX2 kernels chosen at run time) over ATLAS's
# generic build: descriptors about 1.8x faster. The serial variant never starts
# threads of its own (embed runs one worker per core).
# libdlib-data: dlib's 68-point landmark predictor, which the ONNX embedder (embed/onnx) aligns faces with.
DEBS := libdlib-dev libblas-dev libatlas-base-dev liblapack-dev libjpeg62-turbo-dev libopenblas0-serial libdlib-data
# chromium: the intake app's browser test (examples/intake) drives it with
# chromedp; it runs under CI=true and skips elsewhere when chromium is absent.
# postgresql-15: exclusion/pgstore's tests and examples/replicas start throwaway
# clusters on loopback with its initdb and pg_ctl (internal/pgcluster); the
# package's own system cluster is not used.
TEST_DEBS := chromium postgresql-15
# webp: cwebp makes the WebP copies of bench filter's crawl mix (Go has no
# WebP encoder); without it the mix has none and says so.
BENCH_DEBS := python3-hnswlib python3-numpy webp
GO ?= go
export FACEOPTOUT_MODELS ?= $(CURDIR)/models

# PURE_PKGS must build without cgo (CGO_ENABLED=0): every package but dlib's
# and ONNX Runtime's bindings and the programs (which link dlib). embed itself
# builds without cgo (its NewDlib then returns embed.ErrNoCgo).
PURE_PKGS = $$($(GO) list ./... | grep -v -e '/embed/internal/dlib' -e '/embed/onnx' -e '/examples/')
# GOFACE_PKGS hold the gofacebaseline files: go-face, the benchmarks' baseline
# and reference embedder, compiled, vetted and tested by make test.
GOFACE_PKGS := ./examples/bench

.PHONY: all test demo deps test-deps bench-deps models vet purego gofacebaseline bench clean

all: test

# ensure_debs installs the Debian packages in $(1) that are missing (as root),
# or prints the apt-get command to run and fails.
define ensure_debs
missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" = 0 ]; then \
    echo "deps: installing$$missing"; \
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
  else \
    echo "deps: missing Debian packages. Run as root, then rerun make:"; \
    echo "  sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
  fi; \
fi
endef

deps:
	@$(call ensure_debs,$(DEBS))

# The index benchmark drives hnswlib from Python beside our own indexes.
bench-deps: deps
	@$(call ensure_debs,$(BENCH_DEBS))

models:
	@./scripts/fetch-models.sh
	@./scripts/fetch-onnx.sh

vet: deps
	$(GO) vet ./...
	$(GO) vet -tags gofacebaseline $(GOFACE_PKGS)

# purego builds the pure-Go packages without cgo: a user who needs only
# index, imageutil or the exclusion core never needs dlib.
purego:
	CGO_ENABLED=0 $(GO) build $(PURE_PKGS)

# gofacebaseline builds and tests the programs with go-face compiled in.
gofacebaseline: deps models
	$(GO) build -tags gofacebaseline -o /dev/null $(GOFACE_PKGS)
	$(GO) test -race -tags gofacebaseline $(GOFACE_PKGS)

test-deps: deps
	@$(call ensure_debs,$(TEST_DEBS))

test: deps test-deps models vet purego gofacebaseline
	$(GO) test -race -timeout 60m ./...

demo: deps models
	$(GO) run ./examples/demo

bench: bench-deps models
	$(GO) test -run '^$$' -bench . -benchmem ./...

# fuzz runs every fuzz target of the module (func FuzzXxx in a _test.go file)
# for FUZZTIME each, one at a time. A failing input is written by go test to
# the package's testdata/fuzz/FuzzXxx/, where plain go test runs it from then
# on: commit it with the fix as a regression seed.
FUZZTIME ?= 30s
fuzz: deps models
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
	  dir=./$$(dirname $${f#./}); \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "fuzz: $$dir $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$dir; \
	  done; \
	done

clean:
	$(GO) clean -testcache
