#!/usr/bin/env bash
# Installs the system data and tools modelpress reads (npm run setup).
#
#   scripts/setup.sh           Fashion-MNIST, which the main job (modelpress compress) trains on
#   scripts/setup.sh --tests   also what the test suite reads: the ONNX conformance suite
#                              (libonnx-testdata), the zstd/brotli CLIs (codec comparisons),
#                              Chromium (HTML report and browser checks), espeak-ng (speech
#                              for the audio-model fixtures)
#
# Fashion-MNIST: already in /usr/share/datasets/fashion-mnist or in the user folder
# (~/.cache/modelpress/fashion-mnist) -> nothing to do; else the Debian package
# dataset-fashion-mnist with apt-get (as root, or through sudo); else a download of
# the four files, each checked against its SHA-256 (scripts/fetch-fashion-mnist.ts);
# else it says what to do and exits 1. The other packages come from apt-get only.
# For tests (test/package/setup.test.ts): MODELPRESS_SETUP_SYSTEM_DIR replaces the
# system folder, MODELPRESS_SETUP_APT=0 acts as if apt-get were absent.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

tests=0
for a in "$@"; do
  case "$a" in
    --tests) tests=1 ;;
    *) echo "setup: unknown option $a (use --tests)" >&2; exit 2 ;;
  esac
done

fmnist_files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
system_dir="${MODELPRESS_SETUP_SYSTEM_DIR:-/usr/share/datasets/fashion-mnist}"
user_dir="${XDG_CACHE_HOME:-$HOME/.cache}/modelpress/fashion-mnist"

has_all() {
  local f
  for f in "${fmnist_files[@]}"; do [ -f "$1/$f" ] || return 1; done
}

# apt-get as root, or through sudo without a password prompt; empty when neither works.
apt_cmd=()
if [ "${MODELPRESS_SETUP_APT:-1}" != 0 ] && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt_cmd=(apt-get)
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    apt_cmd=(sudo -n apt-get)
  fi
fi
apt_updated=0

apt_install() {
  [ "${#apt_cmd[@]}" -gt 0 ] || return 1
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ "${#missing[@]}" -gt 0 ] || return 0
  if [ "$apt_updated" -eq 0 ]; then
    "${apt_cmd[@]}" update -qq || return 1
    apt_updated=1
  fi
  echo "setup: apt-get install ${missing[*]}" >&2
  "${apt_cmd[@]}" install -y -qq "${missing[@]}"
}

if has_all "$system_dir"; then
  echo "setup: Fashion-MNIST found in $system_dir" >&2
elif has_all "$user_dir"; then
  echo "setup: Fashion-MNIST found in $user_dir" >&2
elif apt_install dataset-fashion-mnist && has_all "$system_dir"; then
  echo "setup: Fashion-MNIST installed in $system_dir (Debian package dataset-fashion-mnist)" >&2
elif [ -x node_modules/.bin/tsx ] && node_modules/.bin/tsx scripts/fetch-fashion-mnist.ts --dest "$user_dir"; then
  :
else
  cat >&2 <<EOF
setup: Fashion-MNIST is not installed and could not be had here. Either
  - on Debian/Ubuntu, as root: apt-get install dataset-fashion-mnist
  - or, after npm ci, with a network: npx tsx scripts/fetch-fashion-mnist.ts
  - or copy the four files (${fmnist_files[*]}) from
    https://github.com/zalandoresearch/fashion-mnist into $user_dir
    (or any folder, then pass --data-dir <folder> to modelpress)
EOF
  exit 1
fi

if [ "$tests" -eq 1 ]; then
  test_packages=(libonnx-testdata zstd brotli chromium espeak-ng)
  if ! apt_install "${test_packages[@]}"; then
    echo "setup: the tests also read the Debian packages ${test_packages[*]}; install them as root with apt-get install" >&2
    exit 1
  fi
fi
