#!/usr/bin/env bash
# How much the typed catalog API adds to an incremental build: edit one
# catalog file (a description, so the API itself does not change), then time
# rebuilding the crate that compiles the catalog, and the whole binary.
# Prints seconds. Target: a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/errata-target}
file=catalog/pages.toml
cargo build -q -p errata -p errata-errors
cp "$file" "$file.bak"
trap 'mv "$file.bak" "$file"; touch "$file"' EXIT
measure() {
  local start end
  echo "# $(date +%s%N)" >> "$file"
  start=$(date +%s%N)
  cargo build -q "$@"
  end=$(date +%s%N)
  awk -v ns=$((end - start)) -v what="$*" 'BEGIN { printf "%-22s %.2f s\n", what, ns / 1e9 }'
}
for run in 1 2 3; do
  measure -p errata-errors
  measure -p errata
done
