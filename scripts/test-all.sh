#!/usr/bin/env bash
# Every check CI makes, in the order it makes them: the official Node server for the integration
# tests (installed once, then cached), formatting, lints, docs, every test of the workspace, and
# the library crates packaged as they would be published.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing the official Node server (tests/server)"
tests/server/install.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings

echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

echo "== cargo test"
cargo test --workspace --all-features

echo "== cargo package (the library crates build from their .crate files, offline)"
scripts/publish-dry-run.sh --offline
