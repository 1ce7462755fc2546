#!/usr/bin/env bash
# Installs the official JavaScript client (azure-mobile-apps-client 2.0.1) and xhr2 exactly as
# locked in package-lock.json. sqlite3 (native) is not installed here: interop.js uses the one
# tests/server/install.sh builds. Idempotent: a stamp keyed on the lock and Node version.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v node >/dev/null || { echo "install.sh: node not found" >&2; exit 1; }
command -v npm >/dev/null || { echo "install.sh: npm not found" >&2; exit 1; }
STAMP=node_modules/.js-client.stamp
KEY="$(sha256sum package-lock.json | cut -d' ' -f1) $(node -v)"
if [[ -f $STAMP && "$(cat "$STAMP")" == "$KEY" ]]; then
    echo "install.sh: already installed" >&2
    exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
echo "$KEY" >"$STAMP"
echo "install.sh: done" >&2
