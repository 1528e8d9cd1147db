#!/usr/bin/env bash
# fetch-onnx.sh: puts the files the ONNX embedder (embed/onnx) needs into
# $FACEOPTOUT_MODELS (default: models/ at the repository root), each checked
# against a pinned SHA-256 whatever its source:
#   fr_feature.onnx, fr_landmark.onnx  from the npm package faceplugin-face-recognition-js@0.0.1
#                                      (package.json says MIT, its LICENSE names an unrelated
#                                      author, and the weights' origin is undocumented)
#   libonnxruntime.so.1                from the npm package onnxruntime-node@1.30.0 (MIT;
#                                      bin/napi-v6/linux/x64), the ONNX Runtime that
#                                      github.com/yalue/onnxruntime_go v1.27.0 loads
# Files already present are kept when their checksum matches. Nothing else is
# installed, and nothing downloads at run time. dlib's 68-point landmark
# predictor comes from Debian's libdlib-data (the Makefile installs it).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${FACEOPTOUT_MODELS:-$root/models}
mkdir -p "$dest"

declare -A sums=(
  [fr_feature.onnx]=87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581
  [fr_landmark.onnx]=f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258
  [libonnxruntime.so.1]=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
)
# package, then the path of each file inside its tarball
declare -A pkg=(
  [fr_feature.onnx]=faceplugin-face-recognition-js@0.0.1
  [fr_landmark.onnx]=faceplugin-face-recognition-js@0.0.1
  [libonnxruntime.so.1]=onnxruntime-node@1.30.0
)
declare -A inner=(
  [fr_feature.onnx]=package/model/fr_feature.onnx
  [fr_landmark.onnx]=package/model/fr_landmark.onnx
  [libonnxruntime.so.1]=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
)
files=(fr_feature.onnx fr_landmark.onnx libonnxruntime.so.1)

ok() { # ok FILE: the file exists and matches its pinned checksum
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "${sums[$(basename "$1")]}" ]
}

missing=()
for f in "${files[@]}"; do
  if ! ok "$dest/$f"; then
    [ -f "$dest/$f" ] && echo "onnx models: $f present but its SHA-256 is wrong: refetching" >&2 && rm -f "$dest/$f"
    missing+=("$f")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then echo "onnx models: all present and verified in $dest"; exit 0; fi
command -v npm >/dev/null 2>&1 || { echo "onnx models: npm is not installed; missing: ${missing[*]}" >&2; exit 1; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
declare -A fetched=()
failed=()
for f in "${missing[@]}"; do
  p=${pkg[$f]}
  tgz="$tmp/${p//[@\/]/_}"
  if [ -z "${fetched[$p]:-}" ]; then
    mkdir -p "$tgz"
    echo "onnx models: fetching the npm package $p" >&2
    if ! (cd "$tgz" && npm pack --silent "$p" >npm.out 2>npm.err); then
      failed+=("$f (npm pack $p: $(tail -n 2 "$tgz/npm.err" | tr '\n' ' '))"); continue
    fi
    fetched[$p]=1
  fi
  if ! tar -xzf "$tgz"/*.tgz -C "$tgz" "${inner[$f]}" 2>"$tmp/tar.err"; then
    failed+=("$f (not in $p: $(tr '\n' ' ' <"$tmp/tar.err"))"); continue
  fi
  if ok "$tgz/${inner[$f]}"; then
    cp "$tgz/${inner[$f]}" "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f"
  else
    failed+=("$f (wrong SHA-256 in $p)")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "onnx models: could not fetch:" >&2
  for r in "${failed[@]}"; do echo "  $r" >&2; done
  exit 1
fi
echo "onnx models: all present and verified in $dest"
