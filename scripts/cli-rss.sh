#!/bin/sh
# cli-rss.sh [BASE_REV]: peak RSS (/usr/bin/time -v, "Maximum resident set
# size") of `faceoptout check` on imageutil's hostile PNG bomb
# png-bomb/36MP-rgb-under (105 KB, 6000x6000), for the faceoptout built from
# the working tree and from BASE_REV (default 3bbc1e3^, the commit before
# imageutil's streaming PNG decoder), with the ONNX model (the default of a
# new registry) and with dlib, each with an empty registry and with one
# approved face (faces/idols/bona.jpg). Prints a markdown table (RELIABILITY.md
# row 1b). Run from the repository root, with the models in ./models (or
# $FACEOPTOUT_MODELS) and the faces in ../shared/faces (or $FACEOPTOUT_FACES).
set -eu
base=${1:-3bbc1e3^}
faces=${FACEOPTOUT_FACES:-$PWD/../shared/faces}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir "$tmp/base"
git archive "$base" | tar -x -C "$tmp/base"
(cd "$tmp/base" && go build -o "$tmp/faceoptout-base" ./examples/faceoptout)
go build -o "$tmp/faceoptout-new" ./examples/faceoptout
go test -count=1 -run '^TestWriteHostileFiles$' ./imageutil/ \
	-imageutil.hostile-dir "$tmp" -imageutil.hostile-match png-bomb/36MP-rgb-under >/dev/null
bomb="$tmp/png-bomb_36MP-rgb-under"

# registry BIN DIR EMBEDDER FACES: a registry with FACES (0 or 1) approved faces.
registry() {
	"$1" init --registry "$2" --embedder "$3" >/dev/null
	if [ "$4" = 1 ]; then
		id=$("$1" submit --registry "$2" --kind face --country DE --reason rss --name Bona \
			--email bona@example.org --phone +4915112345678 --photo "$faces/idols/bona.jpg" |
			awk '/^submitted/ {print $2}')
		"$1" approve --registry "$2" "$id" --by rss >/dev/null
	fi
}

# rss BIN REGISTRY: "MB verdict" of one check of the bomb (MB = kB / 1000).
rss() {
	/usr/bin/time -v "$1" check --registry "$2" "$bomb" >"$tmp/out" 2>"$tmp/time"
	kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time")
	verdict=$(sed -n 's/.*"verdict":"\([a-z]*\)".*/\1/p' "$tmp/out")
	echo "$((kb / 1000)) MB ($verdict)"
}

echo "load: $(uptime | sed 's/.*load average: //')"
echo
echo "| embedder | registry | faceoptout at $base | faceoptout now |"
echo "| --- | --- | --- | --- |"
for emb in onnx dlib; do
	for n in 0 1; do
		for v in base new; do
			registry "$tmp/faceoptout-$v" "$tmp/reg-$v-$emb-$n" "$emb" "$n"
		done
		echo "| $emb | $n face(s) | $(rss "$tmp/faceoptout-base" "$tmp/reg-base-$emb-$n") | $(rss "$tmp/faceoptout-new" "$tmp/reg-new-$emb-$n") |"
	done
done
echo
echo "load: $(uptime | sed 's/.*load average: //')"
