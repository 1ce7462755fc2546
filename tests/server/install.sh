#!/usr/bin/env bash
# Installs the test server's npm dependencies and builds sqlite3's native binding.
# Idempotent: does nothing (in well under a second) when a previous run verified the
# same package-lock.json with the same Node version.
#
# Needs node + npm, python3, make, g++ and the Node headers (/usr/include/node, shipped
# by the nodesource `nodejs` package). Missing build tools/headers are installed with
# apt-get when running as root. npm runs no install scripts here (--ignore-scripts):
# sqlite3's own script would try to download a prebuilt binary, so we build it with
# node-gyp against the local headers (--nodedir), which takes ~1.5 min on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

die() { echo "install.sh: ERROR: $*" >&2; exit 1; }
say() { echo "install.sh: $*" >&2; }

command -v node >/dev/null || die "node not found on PATH"
command -v npm >/dev/null || die "npm not found on PATH"

STAMP=node_modules/.ama-test-server.stamp
KEY="$(sha256sum package-lock.json | cut -d' ' -f1) $(node -v)"
if [[ -f $STAMP && "$(cat "$STAMP")" == "$KEY" ]] && node -e "require('sqlite3')" 2>/dev/null; then
    say "already installed (stamp matches package-lock.json and $(node -v))"
    exit 0
fi

apt_install() { # apt_install PKG... (root only, non-interactive)
    [[ $(id -u) == 0 ]] || die "missing $*; install it (apt-get install $*) or run as root"
    say "apt-get install $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
}

# Build tools.
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v make >/dev/null || missing+=(make)
command -v g++ >/dev/null || missing+=(g++)
((${#missing[@]} == 0)) || apt_install "${missing[@]}"

# Node headers: node-gyp --nodedir=DIR wants DIR/include/node/{node.h,common.gypi}.
# The nodesource nodejs package ships them under /usr. Fallback: Debian's libnode-dev
# (Node 18 headers; fine because sqlite3 5.x is an N-API module, ABI-stable).
NODEDIR=${NODEDIR:-/usr}
if [[ ! -f $NODEDIR/include/node/node.h || ! -f $NODEDIR/include/node/common.gypi ]]; then
    [[ $NODEDIR == /usr ]] || die "no Node headers in $NODEDIR/include/node"
    apt_install libnode-dev
    [[ -f /usr/include/node/node.h ]] || die "libnode-dev installed but /usr/include/node/node.h is missing"
fi

# Dependencies exactly as locked.
say "npm ci"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2 || die "npm ci failed"

# node-gyp: the one bundled with npm (recent), else sqlite3's optional node-gyp 8.x.
NPM_DIR="$(dirname "$(readlink -f "$(command -v npm)")")/.."
GYP="$NPM_DIR/node_modules/node-gyp/bin/node-gyp.js"
[[ -f $GYP ]] || GYP="$PWD/node_modules/node-gyp/bin/node-gyp.js"
[[ -f $GYP ]] || die "node-gyp not found (neither bundled with npm nor in node_modules)"

say "building sqlite3 with node-gyp (--nodedir=$NODEDIR); log: node_modules/.sqlite3-build.log"
start=$SECONDS
if ! (cd node_modules/sqlite3 && node "$GYP" rebuild --nodedir="$NODEDIR" -j "$(nproc)") \
        >node_modules/.sqlite3-build.log 2>&1; then
    tail -n 30 node_modules/.sqlite3-build.log >&2
    die "node-gyp build of sqlite3 failed (full log: $PWD/node_modules/.sqlite3-build.log)"
fi
say "sqlite3 built in $((SECONDS - start)) s"

node -e "new (require('sqlite3').Database)(':memory:').close()" \
    || die "require('sqlite3') fails after the build"
echo "$KEY" >"$STAMP"
say "done"
