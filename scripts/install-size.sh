#!/usr/bin/env bash
# Installed size of modelpress for its two kinds of user, measured as they
# would install it: the tarball `npm pack` makes, installed into an empty
# folder, then `du` of node_modules. From the npm cache where it has the
# packages (--prefer-offline), so the registry is asked only for what it lacks.
#
#   bash scripts/install-size.sh
#
# CLI / Node user:    npm i modelpress                                  (onnxruntime-node, optional dependency, comes with it)
# browser-library:    npm i modelpress onnxruntime-web --omit=optional  (onnxruntime-web is an optional peer dependency)
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

npm pack --silent --pack-destination "$work" >/dev/null
tgz="$(ls "$work"/modelpress-*.tgz)"
echo "tarball: $(basename "$tgz") $(stat -c %s "$tgz") bytes, $(tar tzf "$tgz" | wc -l) files"

measure() {
  local name="$1"
  shift
  local dir="$work/$name"
  mkdir -p "$dir"
  printf '{ "name": "size-%s", "private": true }\n' "$name" >"$dir/package.json"
  echo 'onnxruntime-node-install=skip' >"$dir/.npmrc"
  (cd "$dir" && env -u npm_config_local_prefix npm install --prefer-offline --no-audit --no-fund --no-package-lock --silent "$@" >/dev/null 2>&1)
  echo "$name: $(du -sm "$dir/node_modules" | cut -f1) MiB in node_modules (du -sm) ($(ls "$dir/node_modules" | wc -l) top-level entries); largest:"
  du -sm "$dir"/node_modules/* "$dir"/node_modules/@*/* 2>/dev/null | sort -rn | head -3 | sed "s|$dir/node_modules/|    |"
}

measure cli "$tgz"
measure browser "$tgz" onnxruntime-web --omit=optional
