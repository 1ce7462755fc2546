#!/usr/bin/env bash
# Runs a throw-away PostgreSQL server for tests and local runs of sync-server:
#
#   scripts/postgres.sh DIR [PORT]
#
# initdb into DIR/data (DIR is created; it must be empty or absent), then start `postgres` on
# 127.0.0.1:PORT (default: a free port, retried when another process takes it first), with its
# socket and log in DIR. Prints one line once it accepts connections:
#
#   ready postgres://postgres@127.0.0.1:PORT/postgres
#
# and then runs until its stdin closes (end of file: Ctrl-D in a terminal, or the test process that
# holds the pipe ending in any way) or it gets SIGINT/SIGTERM; then it stops the server (immediate
# shutdown: the data is throw-away) and removes DIR.
#
# Root-safe: PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user
# (Debian's package creates it), else `nobody`, through setpriv(1); DIR is handed to that user.
# Binaries: $PG_BIN, else initdb on PATH, else the newest /usr/lib/postgresql/*/bin (Debian's
# `postgresql` package). Settings favour speed over durability (fsync off): never point DIR at data
# you want to keep.
set -euo pipefail

die() { echo "postgres.sh: ERROR: $*" >&2; exit 1; }

[[ $# -ge 1 && $# -le 2 ]] || die "usage: scripts/postgres.sh DIR [PORT]"
dir=$1
want_port=${2:-}

if [[ -n ${PG_BIN:-} ]]; then
    bin=$PG_BIN
elif command -v initdb >/dev/null && command -v postgres >/dev/null; then
    bin=$(dirname "$(readlink -f "$(command -v initdb)")")
else
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
[[ -n $bin && -x $bin/initdb && -x $bin/postgres && -x $bin/pg_isready ]] ||
    die "no PostgreSQL binaries (initdb, postgres, pg_isready); install Debian's postgresql package (apt-get install postgresql) or set PG_BIN"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[[ -z $(ls -A "$dir") ]] || die "$dir is not empty"

# As root: run everything PostgreSQL as an unprivileged user that owns DIR.
as_user=()
if [[ $(id -u) == 0 ]]; then
    user=postgres
    id -u "$user" >/dev/null 2>&1 || user=nobody
    chown "$user" "$dir"
    # setpriv execs in place (no child process), so $pid below is the postmaster itself.
    as_user=(setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups --)
fi

"${as_user[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        # SIGQUIT: immediate shutdown (no checkpoint; the data is thrown away anyway).
        kill -QUIT "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

start() { # start PORT: 0 when the server accepts connections, 1 when it exited
    local port=$1
    "${as_user[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
        -c shared_buffers=64MB -c log_min_messages=warning \
        >>"$dir/postgres.log" 2>&1 </dev/null &
    pid=$!
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; pid=; return 1; }
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && return 0
        sleep 0.1
    done
    die "postgres did not accept connections within 30 s; log: $(tail -n 20 "$dir/postgres.log")"
}

port=
for _ in $(seq 1 20); do
    candidate=${want_port:-$((20000 + RANDOM % 40000))}
    if start "$candidate"; then
        port=$candidate
        break
    fi
    [[ -z $want_port ]] || die "postgres could not start on port $want_port: $(tail -n 5 "$dir/postgres.log")"
done
[[ -n $port ]] || die "postgres could not start on any port tried: $(tail -n 5 "$dir/postgres.log")"

echo "ready postgres://postgres@127.0.0.1:$port/postgres"
# Until end of file on stdin (or a signal). A server that dies on its own ends the script too.
while true; do
    status=0
    read -r -t 1 _ || status=$?
    if ((status == 0)); then
        continue # a line: ignored
    elif ((status > 128)); then
        kill -0 "$pid" 2>/dev/null || die "postgres exited: $(tail -n 5 "$dir/postgres.log")"
    else
        break # end of file
    fi
done
