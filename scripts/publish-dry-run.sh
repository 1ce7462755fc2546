#!/usr/bin/env bash
# Checks that the library crates can be published to crates.io, in dependency order, without
# publishing anything:
#
#   scripts/publish-dry-run.sh            # `cargo publish --dry-run` (asks the crates.io index)
#   scripts/publish-dry-run.sh --offline  # `cargo package --offline` (the same packaging and
#                                         # verification, from the local cache; used by CI)
#
# Every crate is *verified*: cargo builds it from its own .crate file, and the siblings it depends
# on (unpublished) come from a temporary local registry holding their freshly made .crate files.
# Cargo does this when one command names several workspace packages (cargo >= 1.90), so no crate
# needs `--no-verify`. Sibling dev-dependencies have no version (path only): cargo drops them from
# the published manifest, which breaks the circles sync-derive -> (dev) sync-core -> sync-derive
# and sync-core -> (dev) store-memory -> sync-core.
#
# Then each package's file list is checked: README and both licence texts present, no file over
# 1 MiB, no .crate over 2 MiB (crates.io refuses 10 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."

# Dependency order: each crate depends only on crates before it.
CRATES=(sync-derive sync-core store-memory store-diesel backend-azure-rest)
MAX_FILE=$((1024 * 1024))
MAX_CRATE=$((2 * 1024 * 1024))

mode=publish
case "${1:-}" in
  "") ;;
  --offline) mode=offline ;;
  *) echo "usage: $0 [--offline]" >&2; exit 2 ;;
esac

packages=()
for crate in "${CRATES[@]}"; do packages+=(-p "$crate"); done

# The verification builds go to their own target directory. Cargo takes a registry package of a
# given version as unchanging, but these "registry" siblings change with every run: it would
# reuse their extracted sources ($CARGO_HOME/registry/src/<hash>/, never crates.io's) and their
# compiled artifacts from an earlier run. Both are removed first, so each run verifies against
# the siblings' sources as they are now.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/publish-check}"
version=$(cargo metadata --format-version 1 --no-deps --offline |
  sed -n 's/.*"name":"sync-core","version":"\([^"]*\)".*/\1/p')
for src in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  case "$(basename "$src")" in index.crates.io-*) continue ;; esac
  for crate in "${CRATES[@]}"; do rm -rf "${src}${crate}-${version:-0.1.0}"; done
done
for crate in "${CRATES[@]}"; do
  lib=${crate//-/_}
  rm -rf "$CARGO_TARGET_DIR"/debug/.fingerprint/"$crate"-* "$CARGO_TARGET_DIR"/debug/deps/lib"$lib"-* \
    "$CARGO_TARGET_DIR"/debug/deps/"$lib"-* "$CARGO_TARGET_DIR"/debug/build/"$crate"-*
done

# `--allow-dirty`: a dry run packages the working tree as it is; a real publish should not.
export CARGO_INCREMENTAL=0
if [ "$mode" = publish ]; then
  echo "== cargo publish --dry-run ${CRATES[*]}"
  cargo publish --dry-run --allow-dirty "${packages[@]}"
else
  echo "== cargo package --offline ${CRATES[*]}"
  cargo package --offline --allow-dirty "${packages[@]}"
fi

echo "== package contents"
status=0
for crate in "${CRATES[@]}"; do
  files=$(cargo package --list --allow-dirty --offline -p "$crate" 2>/dev/null)
  for needed in README.md LICENSE-MIT LICENSE-APACHE Cargo.toml src/lib.rs; do
    if ! grep -qx "$needed" <<<"$files"; then
      echo "$crate: $needed is missing from the package" >&2
      status=1
    fi
  done
  while IFS= read -r file; do
    # Generated files (Cargo.lock, the normalised Cargo.toml, .cargo_vcs_info.json) are not on disk.
    [ -f "$crate/$file" ] || continue
    size=$(stat -L -c %s "$crate/$file")
    if [ "$size" -gt "$MAX_FILE" ]; then
      echo "$crate: $file is $size bytes (over $MAX_FILE)" >&2
      status=1
    fi
  done <<<"$files"
  archive=$(ls -t "$CARGO_TARGET_DIR"/package/"$crate"-*.crate "$CARGO_TARGET_DIR"/package/tmp-crate/"$crate"-*.crate 2>/dev/null | head -n 1 || true)
  if [ -n "$archive" ]; then
    size=$(stat -c %s "$archive")
    if [ "$size" -gt "$MAX_CRATE" ]; then
      echo "$crate: $archive is $size bytes (over $MAX_CRATE)" >&2
      status=1
    fi
    printf '%-20s %3d files, %7d bytes packed, verified (no --no-verify needed)\n' \
      "$crate" "$(wc -l <<<"$files")" "$size"
  else
    printf '%-20s %3d files, verified (no --no-verify needed)\n' "$crate" "$(wc -l <<<"$files")"
  fi
done
exit "$status"
