#!/usr/bin/env bash
# Starts the official Azure Mobile Apps Node server on 127.0.0.1 for the todo example:
#   tests/server/start.sh [PORT] [DB_FILE]      (defaults: 3000, ./todo-server.db)
# Installs it first if needed (about two minutes the first time). Stop it with Ctrl-C.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
port="${1:-3000}"
db="${2:-$PWD/todo-server.db}"
"$here/install.sh"
echo "database: $db"
PORT="$port" DB_FILE="$db" exec node "$here/server.js"
