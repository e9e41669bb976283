#!/usr/bin/env bash
# `cmake --install` puts ascent and its data in place, and the installed binary finds the demo
# model through its own location, with the source and build trees out of reach.
set -euo pipefail
build_dir=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/ascent"
test -f "$prefix/share/ascent/models/demo/stories260K/model.safetensors"
# Move the installation so the compiled-in install path cannot be what finds the data.
mkdir "$prefix/moved"
mv "$prefix/bin" "$prefix/share" "$prefix/moved/"
out=$(env -u ASCENT_DATA_DIR "$prefix/moved/bin/ascent" info --json)
case "$out" in
  *"$prefix/moved/share/ascent/models/demo/stories260K"*) ;;
  *) echo "installed binary did not use its own data: $out" >&2; exit 1 ;;
esac
text=$(echo "Once upon a time" | "$prefix/moved/bin/ascent" complete --temperature 0 -n 8)
[ "$text" = ", there was a little girl" ] || { echo "unexpected output: $text" >&2; exit 1; }
echo "install layout ok"
