# Throwaway PostgreSQL clusters for the demo, e2e tests and benchmarks.
# Source this file, then:
#   zc_cluster_start [postgresql.conf lines...]   # sets ZC_DIR, ZC_PORT, ZC_SOCK, ZC_DATA
#   zc_psql -c 'SELECT 1'                          # psql on the cluster
#   zc_cluster_stop                                # stops it and removes ZC_DIR
# initdb and postgres refuse to run as root: as root everything runs as the
# `postgres` user (created by Debian's package) in a directory it owns.
# The socket lives in the private directory and TCP is off
# (listen_addresses = ''), so an existing cluster is never touched.

ZC_BINDIR=${ZC_BINDIR:-$(pg_config --bindir)}  # tests and bench export a private one

# Results must not depend on the caller's environment: libpq reads these
# variables for every connection (PGOPTIONS=-c client_min_messages=warning
# would hide the NOTICEs the suites check), so they are cleared, and
# messages and encodings are pinned.
unset PGOPTIONS PGTZ PGDATESTYLE PGCLIENTENCODING PGGEQO PGSERVICE PGSERVICEFILE PGSYSCONFDIR \
    PGDATABASE PGAPPNAME PGSSLMODE PGCONNECT_TIMEOUT PGTARGETSESSIONATTRS PGHOSTADDR PGPASSFILE PSQLRC
export LC_ALL=C.UTF-8 LANG=C.UTF-8

zc_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        # From a folder postgres may not enter (a 0700 home), initdb and
        # pg_ctl print "could not change directory"; start them from / then.
        if runuser -u postgres -- test -x "$PWD"; then
            runuser -u postgres -- "$@"
        else
            (cd / && runuser -u postgres -- "$@")
        fi
    else
        "$@"
    fi
}

zc_free_port() {
    local port
    for port in $(seq 54320 54420); do
        if ! ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && [ ! -e "/tmp/.s.PGSQL.$port" ] \
            && [ ! -e "/var/run/postgresql/.s.PGSQL.$port" ]; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

zc_cluster_start() {
    ZC_DIR=$(mktemp -d /tmp/zerocut-cluster.XXXXXX)
    chmod 755 "$ZC_DIR"
    [ "$(id -u)" = 0 ] && chown postgres: "$ZC_DIR"
    ZC_DATA=$ZC_DIR/data
    ZC_SOCK=$ZC_DIR
    ZC_PORT=$(zc_free_port) || { echo "no free port" >&2; return 1; }
    zc_as_owner "$ZC_BINDIR/initdb" -D "$ZC_DATA" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$ZC_DIR/initdb.log" 2>&1 \
        || { cat "$ZC_DIR/initdb.log" >&2; return 1; }
    {
        echo "port = $ZC_PORT"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$ZC_SOCK'"
        echo "fsync = off"
        echo "shared_buffers = 512MB"
        echo "max_wal_size = 4GB"
        echo "logging_collector = off"
        for line in "$@"; do echo "$line"; done
    } | zc_as_owner tee -a "$ZC_DATA/postgresql.conf" >/dev/null
    zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$ZC_DATA" -l "$ZC_DIR/server.log" -w -t 60 start >/dev/null \
        || { cat "$ZC_DIR/server.log" >&2; return 1; }
    export PGHOST=$ZC_SOCK PGPORT=$ZC_PORT PGUSER=postgres
}

zc_psql() {
    psql -X -v ON_ERROR_STOP=1 -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres "$@"
}

# Fails when a backend died by a signal (a crash), printing the log lines.
zc_check_server_log() {
    local log=${1:-$ZC_DIR/server.log}
    if grep -E "was terminated by signal|terminated by signal" "$log"; then
        echo "server log shows a backend terminated by a signal: $log" >&2
        return 1
    fi
}

zc_cluster_stop() {
    [ -n "${ZC_DIR:-}" ] || return 0
    zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$ZC_DATA" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$ZC_DIR"
    ZC_DIR=
}
