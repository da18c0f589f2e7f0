# Sourced by .ci/run: a throw-away PostgreSQL cluster for the test suite.
#
# Installs Debian's server when it is missing (apt-get, quietly), creates a cluster in a
# temporary directory (initdb + pg_ctl, as the `postgres` user when run as root), listening on
# 127.0.0.1 at a free port and on a unix socket in that directory, creates a database and
# exports MONITOR_TEST_PG_DSN, and MONITOR_TEST_PG_CTL: the cluster's `pg_ctl -D <data dir>` (run
# as its owner), for the test that restarts the server under load. `pg_stop` (set as an EXIT trap by .ci/run) stops the cluster
# and deletes its directory. Each run has its own directory and port: running twice on the
# same machine, even at once, is fine.

pg_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; fi
}

pg_install() {
    if [ -n "$(pg_bindir)" ]; then return 0; fi
    echo "ci: installing the PostgreSQL server (apt-get)" >&2
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        postgresql >/dev/null
}

# Run a command as the cluster's owner: `postgres` when we are root (initdb refuses root).
pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
    pg_install
    local bin port
    bin=$(pg_bindir)
    PG_CI_BIN=$bin
    PG_CI_DIR=$(mktemp -d /tmp/monitor-ci-pg.XXXXXX)
    chmod 755 "$PG_CI_DIR"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$PG_CI_DIR"; fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    pg_as_owner "$bin/initdb" -D "$PG_CI_DIR/data" -U postgres -A trust -E UTF8 \
        --no-sync >/dev/null
    pg_as_owner "$bin/pg_ctl" -D "$PG_CI_DIR/data" -l "$PG_CI_DIR/log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_CI_DIR -c fsync=off" >/dev/null
    pg_as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres monitor_test
    export MONITOR_TEST_PG_DSN="postgresql://postgres@127.0.0.1:$port/monitor_test"
    local owner=""
    if [ "$(id -u)" = 0 ]; then owner="runuser -u postgres -- "; fi
    export MONITOR_TEST_PG_CTL="${owner}$bin/pg_ctl -D $PG_CI_DIR/data -l $PG_CI_DIR/log"
    echo "ci: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') at $MONITOR_TEST_PG_DSN" >&2
}

pg_stop() {
    if [ -n "${PG_CI_DIR:-}" ] && [ -d "$PG_CI_DIR" ]; then
        if [ -n "${PG_CI_BIN:-}" ]; then
            pg_as_owner "$PG_CI_BIN/pg_ctl" -D "$PG_CI_DIR/data" -m immediate stop \
                >/dev/null 2>&1 || true
        fi
        rm -rf "$PG_CI_DIR"
    fi
}
