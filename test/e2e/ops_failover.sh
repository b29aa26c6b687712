#!/usr/bin/env bash
# Automatic failover with pg_auto_failover 2.0 on loopback: a monitor, a
# primary and a synchronous secondary (pg_autoctl), zerocut installed with
# a protected column, a pg_cron schedule and sample data.  Under a pgbench
# write load and a client that records every acknowledged insert, two
# failures of the primary: (1) kill -9 of its postmaster, pg_autoctl alive;
# (2) kill -9 of its pg_autoctl and postmaster (the machine is gone, nothing
# restarts it).  Measured for each: the time until an insert opened after
# the kill is acknowledged (MEASURE lines; target < 30 s, the seed allows
# 5 min).  Checked: every acknowledged insert, and every pgbench transaction
# it acknowledged, is on the new primary; zerocut's jobs work there; the
# pg_cron schedule is there; the key file is needed (moved away, decrypt
# fails with 58P01; back, it works); the dead node rejoins as the new
# secondary, where the jobs are no-ops.
# The monitor's health checks are tightened (1 s period, 5 s unhealthy
# timeout instead of 5 s and 20 s) and the demote timeout lowered with the
# keepers' network-partition timeout (8 s and 4 s instead of 30 s and 20 s;
# ZC_OPS_DEMOTE_TIMEOUT_MS, ZC_OPS_UNHEALTHY_TIMEOUT_MS; docs/operations.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"
command -v pg_autoctl >/dev/null || { echo "FAIL: pg_autoctl is not installed (scripts/setup.sh)"; exit 1; }
fail() {
    echo "FAIL: $*" >&2
    if [ -n "${D:-}" ]; then  # the last lines of every pg_autoctl log
        for log in "$D"/*.log; do [ -s "$log" ] && { echo "---- $log"; tail -n 40 "$log"; }; done >&2
    fi
    exit 1
}

D=$(mktemp -d /tmp/zerocut-failover.XXXXXX)
chmod 755 "$D"
[ "$(id -u)" != 0 ] || chown postgres: "$D"
declare -A GROUP=()   # name -> process group of a pg_autoctl run we started
WRITER=
PGBENCH_PID=
KILLED=
KILL_TIMES=
cleanup() {
    local name data
    [ -z "$WRITER" ] || kill "$WRITER" 2>/dev/null || true
    [ -z "$PGBENCH_PID" ] || kill "$PGBENCH_PID" 2>/dev/null || true
    for name in "${!GROUP[@]}"; do kill -TERM -- "-${GROUP[$name]}" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
        local alive=
        for name in "${!GROUP[@]}"; do kill -0 -- "-${GROUP[$name]}" 2>/dev/null && alive=1; done
        [ -n "$alive" ] || break
        sleep 0.2
    done
    for name in "${!GROUP[@]}"; do kill -KILL -- "-${GROUP[$name]}" 2>/dev/null || true; done
    for data in "$D"/monitor "$D"/node1 "$D"/node2; do
        [ ! -f "$data/postmaster.pid" ] || zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    done
    rm -rf "$D"
}
trap cleanup EXIT

# pg_autoctl keeps its state under XDG_*; it reaches local servers through PGHOST.
AUTOCTL_ENV=(XDG_CONFIG_HOME="$D/xdg/config" XDG_DATA_HOME="$D/xdg/data" XDG_RUNTIME_DIR="$D/xdg/run" PGHOST="$D")
autoctl() { zc_as_owner env "${AUTOCTL_ENV[@]}" pg_autoctl "$@"; }
autoctl_run() {  # name log args...: in the background, in its own process group
    local name=$1 log=$2
    shift 2
    if [ "$(id -u)" = 0 ]; then
        (cd / && exec setsid runuser -u postgres -- env "${AUTOCTL_ENV[@]}" pg_autoctl "$@") >"$log" 2>&1 &
    else
        setsid env "${AUTOCTL_ENV[@]}" pg_autoctl "$@" >"$log" 2>&1 &
    fi
    GROUP[$name]=$!
    disown "$!"   # no "Killed" line when we kill it
}
free_tcp_port() {  # after $1
    local port=$(($1 + 1))
    while ss -Htan "sport = :$port" 2>/dev/null | grep -q . || [ -e "$D/.s.PGSQL.$port" ]; do port=$((port + 1)); done
    echo "$port"
}
PM=$(free_tcp_port 55400)
P1=$(free_tcp_port "$PM")
P2=$(free_tcp_port "$P1")
now_ms() { echo $(($(date +%s%N) / 1000000)); }
monitor() { psql -X -At -v ON_ERROR_STOP=1 -h "$D" -p "$PM" -U postgres -d pg_auto_failover "$@"; }
node() { local port=$1; shift; psql -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"; }
states() { monitor -c "SELECT string_agg(nodename || ':' || reportedstate, ' ' ORDER BY nodename) FROM pgautofailover.node"; }
wait_states() {  # expected seconds
    local i
    for i in $(seq 1 $(($2 * 5))); do
        [ "$(states 2>/dev/null)" = "$1" ] && return 0
        sleep 0.2
    done
    fail "states after $2 s: '$(states)', expected '$1'"
}
# The monitor promotes the secondary primary_demote_timeout (default 30 s)
# after it found the primary unhealthy: the time an isolated primary's keeper
# has to demote itself (timeout.network_partition_timeout, default 20 s), so
# that two primaries never accept writes.  Both are lowered together here.
DEMOTE_MS=${ZC_OPS_DEMOTE_TIMEOUT_MS:-8000}
# A node is failed over only when unhealthy this long (default 20 s): more
# than pg_autoctl needs to restart a crashed postmaster here, or a crash
# that a restart would heal races a failover.
UNHEALTHY_MS=${ZC_OPS_UNHEALTHY_TIMEOUT_MS:-5000}
PARTITION_S=$((DEMOTE_MS / 2000))
MONITOR_URI="postgres://autoctl_node@127.0.0.1:$PM/pg_auto_failover?sslmode=disable"

new_pgdata() {  # dir: our own initdb, sockets in $D (pg_autoctl then adopts it)
    zc_as_owner "$ZC_BINDIR/initdb" -D "$1" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 >"$D/initdb.log" 2>&1 \
        || { cat "$D/initdb.log"; fail "initdb $1"; }
    printf "unix_socket_directories = '%s'\nfsync = off\n" "$D" | zc_as_owner tee -a "$1/postgresql.conf" >/dev/null
}

# --- the monitor -----------------------------------------------------------
new_pgdata "$D/monitor"
autoctl create monitor --pgdata "$D/monitor" --pgport "$PM" --listen 127.0.0.1 --hostname 127.0.0.1 \
    --auth trust --no-ssl --pgctl "$ZC_BINDIR/pg_ctl" >"$D/monitor-create.log" 2>&1 \
    || { cat "$D/monitor-create.log"; fail "create monitor"; }
autoctl_run monitor "$D/monitor.log" run --pgdata "$D/monitor"
for _ in $(seq 1 100); do monitor -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
monitor -q -c "ALTER SYSTEM SET pgautofailover.health_check_period = 1000" \
    -c "ALTER SYSTEM SET pgautofailover.health_check_timeout = 1000" \
    -c "ALTER SYSTEM SET pgautofailover.health_check_max_retries = 1" \
    -c "ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500" \
    -c "ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = $UNHEALTHY_MS" \
    -c "ALTER SYSTEM SET pgautofailover.primary_demote_timeout = $DEMOTE_MS" \
    -c "SELECT pg_reload_conf()" >/dev/null

# --- the primary: our own initdb (settings the secondary copies), then pg_autoctl
new_pgdata "$D/node1"
openssl rand -hex 32 | (umask 077 && cat >"$D/zerocut.key")
[ "$(id -u)" != 0 ] || chown postgres: "$D/zerocut.key"
{
    echo "shared_preload_libraries = 'pg_cron'"
    echo "cron.database_name = 'app'"
    echo "timezone = 'UTC'"
    echo "zerocut.key_file = '$D/zerocut.key'"   # outside PGDATA: every node needs it installed
} | zc_as_owner tee -a "$D/node1/postgresql.conf" >/dev/null
autoctl create postgres --pgdata "$D/node1" --pgport "$P1" --listen 127.0.0.1 --hostname 127.0.0.1 --name node1 \
    --auth trust --no-ssl --pgctl "$ZC_BINDIR/pg_ctl" --monitor "$MONITOR_URI" >"$D/node1-create.log" 2>&1 \
    || { tail -n 30 "$D/node1-create.log"; fail "create node1"; }
autoctl config set --pgdata "$D/node1" timeout.network_partition_timeout "$PARTITION_S" >/dev/null
autoctl_run node1 "$D/node1.log" run --pgdata "$D/node1"
wait_states "node1:single" 30
for _ in $(seq 1 150); do node "$P1" -At -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done

node "$P1" -q -c "CREATE DATABASE app"
node "$P1" -q -d app >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_cron;
CREATE EXTENSION zerocut;
SELECT zerocut.install_domain_schema();
SELECT zerocut.generate_sample_data(5, 200);
SELECT zerocut.create_key('default');
SELECT zerocut.protect_column('user_management."USER"', 'phone');
CALL zerocut.encrypt_column_backfill('user_management."USER"', 'phone');
SELECT cron.schedule('zerocut-maintenance', '5 * * * *', 'CALL zerocut.run_maintenance_proc()');
CREATE TABLE public.acked (id integer PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE public.load (id bigserial PRIMARY KEY, payload text);
SQL
phones=$(node "$P1" -At -d app -c "SELECT md5(string_agg(zerocut.decrypt(phone_encrypted, 'user_management.USER.phone'), ',' ORDER BY id)) FROM user_management.\"USER\"")

# --- the secondary: pg_basebackup by pg_autoctl -----------------------------
autoctl_run node2 "$D/node2.log" create postgres --pgdata "$D/node2" --pgport "$P2" --listen 127.0.0.1 --hostname 127.0.0.1 \
    --name node2 --auth trust --no-ssl --pgctl "$ZC_BINDIR/pg_ctl" --monitor "$MONITOR_URI" --run
# pg_autoctl's pg_basebackup waits for a spread checkpoint: make it immediate.
for _ in $(seq 1 150); do
    [ "$(states)" = "node1:primary node2:secondary" ] && break
    node "$P1" -q -c CHECKPOINT 2>/dev/null || true
    sleep 0.2
done
wait_states "node1:primary node2:secondary" 10
autoctl config set --pgdata "$D/node2" timeout.network_partition_timeout "$PARTITION_S" >/dev/null
autoctl reload --pgdata "$D/node2" >/dev/null 2>&1 || true
sync_names=$(node "$P1" -At -c "SHOW synchronous_standby_names")
echo "node1 primary, node2 secondary; synchronous_standby_names = $sync_names"
[ -n "$sync_names" ] || fail "replication is not synchronous"

# --- load, an acknowledging writer, two failures ------------------------------
cat >"$D/load.sql" <<'SQL'
INSERT INTO public.load (payload) VALUES (repeat('x', 200));
SQL
BOTH="host=127.0.0.1,127.0.0.1 port=$P1,$P2 dbname=app user=postgres target_session_attrs=read-write connect_timeout=2"
writer() {  # inserts 1, 2, 3, ... through whichever node is writable; logs "id started acknowledged" (ms)
    local i=1 started out
    while [ ! -e "$D/stop" ]; do
        started=$(now_ms)
        # (a commit waiting for a synchronous standby is never acknowledged
        # by a timeout: the client is killed, the insert counts as unacknowledged)
        # An insert can commit (and reach the synchronous standby) and its
        # acknowledgement be lost with the dying primary: the retry of that
        # id then finds it there.  It is not acknowledged (not counted), and
        # the writer goes on with the next id instead of retrying forever.
        if out=$(timeout 10 psql -X -q -At -c "INSERT INTO public.acked (id) VALUES ($i) ON CONFLICT (id) DO NOTHING RETURNING id" "$BOTH" 2>/dev/null); then
            if [ "$out" = "$i" ]; then
                echo "$i $started $(now_ms)" >>"$D/acked"
            else
                echo "$i" >>"$D/committed_unacknowledged"
            fi
            i=$((i + 1))
        else
            sleep 0.05
        fi
    done
}
on_primary() {  # psql args...: on whichever node is writable, waiting up to 60 s for one
    local out
    for _ in $(seq 1 300); do
        out=$(psql -X -At "$@" "$BOTH" 2>/dev/null) && { echo "$out"; return 0; }
        sleep 0.2
    done
    echo "no writable node for 60 s: $(states)" >&2
    return 1
}
no_write_diagnosis() {  # killed_at: what the writer and each node see (CI saw this once, unexplained)
    local port
    {
        echo "---- no write after the kill at $1 ms; writer alive: $(kill -0 "$WRITER" 2>/dev/null && echo yes || echo no)"
        echo "last acknowledged: $(tail -n 3 "$D/acked" | tr '\n' ';')"
        echo "one insert now: $(timeout 10 psql -X -At -c "INSERT INTO public.acked (id) VALUES (-1) RETURNING inet_server_port()" "$BOTH" 2>&1 | tr '\n' ' ')"
        for port in "$P1" "$P2"; do
            echo "port $port: $(timeout 5 psql -X -At -h 127.0.0.1 -p "$port" -U postgres -d app -c "SELECT pg_is_in_recovery(), current_setting('synchronous_standby_names'), (SELECT string_agg(application_name || ' ' || state || ' ' || sync_state, ', ') FROM pg_stat_replication), (SELECT string_agg(wait_event_type || '/' || wait_event || ': ' || left(query, 40), ', ') FROM pg_stat_activity WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid())" 2>&1 | tr '\n' ' ')"
        done
        echo "monitor events:"
        monitor -c "SELECT eventtime::time(0) || ' ' || nodename || ' ' || reportedstate || ' -> ' || goalstate || ': ' || left(description, 120) FROM pgautofailover.event ORDER BY eventid DESC LIMIT 25" 2>&1 | tac || true
    } >&2
}
port_of() { if [ "$1" = node1 ]; then echo "$P1"; else echo "$P2"; fi; }
settle() {  # until one node is primary and the other secondary; prints the primary
    local i
    for i in $(seq 1 300); do
        case "$(states)" in "node1:primary node2:secondary") echo node1; return ;; "node1:secondary node2:primary") echo node2; return ;; esac
        sleep 0.2
    done
    fail "no primary and secondary after 60 s: $(states)"
}
failure() {  # label kill-command...: load, the failure, the time until an insert is acknowledged again
    local label=$1 killed_at first_after processed primary port rows now
    shift
    primary=$(settle)
    [ -n "$primary" ] || fail "$label: no primary and secondary: $(states)"
    port=$(port_of "$primary")
    "$ZC_BINDIR/pgbench" -h 127.0.0.1 -p "$port" -U postgres -n -c 2 -T 120 -f "$D/load.sql" app >"$D/pgbench.log" 2>&1 &
    PGBENCH_PID=$!
    sleep 3
    killed_at=$(now_ms)
    KILL_TIMES+=" $killed_at"
    "$@" "$primary"
    # The first insert whose connection was opened after the kill (one
    # already running may still commit on a dying primary's backend).
    for _ in $(seq 1 600); do
        [ "$(tail -n 1 "$D/acked" | cut -d' ' -f2)" -gt "$killed_at" ] && break
        sleep 0.1
    done
    first_after=$(awk -v k="$killed_at" '$2 > k { print $3; exit }' "$D/acked")
    [ -n "$first_after" ] || { no_write_diagnosis "$killed_at"; fail "$label: no write succeeded within 60 s; states: $(states)"; }
    sleep 1
    kill "$PGBENCH_PID" 2>/dev/null || true
    wait "$PGBENCH_PID" 2>/dev/null || true
    PGBENCH_PID=
    processed=$(grep -Eo 'number of transactions actually processed: [0-9]+' "$D/pgbench.log" | grep -Eo '[0-9]+$' || true)
    rows=$(on_primary -c "SELECT count(*) FROM public.load") || fail "$label: no writable node"
    now=$(on_primary -c "SELECT inet_server_port()" | sed "s/^$P1\$/node1/; s/^$P2\$/node2/")
    echo "MEASURE failover, $label: writes acknowledged again $((first_after - killed_at)) ms after the kill; pgbench on $primary: ${processed:-?} transactions acknowledged before its clients failed, $((rows - LOAD_BEFORE)) rows there; primary now: $now"
    # pgbench's acknowledged transactions are there too.
    [ -z "$processed" ] || [ "$rows" -ge "$((LOAD_BEFORE + processed))" ] || fail "$label: $rows load rows, pgbench had $processed acknowledged after $LOAD_BEFORE"
    LOAD_BEFORE=$rows
}
kill_postmaster() {  # node: the postmaster only (pg_autoctl restarts it)
    kill -KILL "$(head -n 1 "$D/$1/postmaster.pid")"
}
kill_node() {  # node: pg_autoctl and its postmaster (the machine is gone)
    local postmaster
    postmaster=$(head -n 1 "$D/$1/postmaster.pid")
    kill -KILL -- "-${GROUP[$1]}"
    unset "GROUP[$1]"
    kill -KILL "$postmaster" 2>/dev/null || true   # in case pg_autoctl gave it a group of its own
    KILLED=$1
}
: >"$D/acked"
LOAD_BEFORE=0
writer &
WRITER=$!
sleep 1
failure "primary's postmaster killed (pg_autoctl alive)" kill_postmaster
failure "primary's node killed (pg_autoctl and postmaster: failover)" kill_node
sleep 1
touch "$D/stop"
wait "$WRITER" 2>/dev/null || true
WRITER=
acked=$(wc -l <"$D/acked")
OLD=$KILLED
if [ "$OLD" = node1 ]; then NEW=node2; else NEW=node1; fi
PNEW=$(port_of "$NEW")
POLD=$(port_of "$OLD")
echo "states after the node's death: $(states)"

# --- no acknowledged insert lost --------------------------------------------
[ "$(node "$PNEW" -At -c "SELECT pg_is_in_recovery()")" = f ] || fail "$NEW was not promoted"
ids=$(cut -d' ' -f1 "$D/acked" | paste -sd, -)
lost=$(node "$PNEW" -At -d app -c "SELECT count(*) FROM unnest('{$ids}'::int[]) a(id) WHERE NOT EXISTS (SELECT FROM public.acked t WHERE t.id = a.id)")
echo "MEASURE failover: acknowledged inserts lost: $lost of $acked ($(cat "$D/committed_unacknowledged" 2>/dev/null | wc -l) committed without an acknowledgement, found there on retry)"
if [ "$lost" != 0 ]; then
    node "$PNEW" -At -d app -c "SELECT string_agg(a.id::text, ' ') FROM unnest('{$ids}'::int[]) a(id) WHERE NOT EXISTS (SELECT FROM public.acked t WHERE t.id = a.id)" >&2
    cat "$D/acked" >&2
    echo "killed at: $KILL_TIMES" >&2
    monitor -c "SELECT extract(epoch FROM eventtime)::numeric(14,3) || ' ' || nodename || ' ' || reportedstate || '->' || goalstate || ' ' || left(description, 120) FROM pgautofailover.event ORDER BY eventid" >&2
    fail "$lost acknowledged inserts are missing on the new primary"
fi

# --- zerocut on the new primary -----------------------------------------------
out=$(node "$PNEW" -At -d app -c "SET client_min_messages = notice" -c "SELECT count(*) FROM zerocut.run_maintenance()" 2>&1)
! grep -q "hot standby" <<<"$out" || fail "run_maintenance thinks the new primary is a standby: $out"
[ "$(node "$PNEW" -At -d app -c "SELECT count(*) FROM cron.job WHERE jobname = 'zerocut-maintenance'")" = 1 ] || fail "cron job missing on $NEW"
[ "$(node "$PNEW" -At -d app -c "SELECT md5(string_agg(zerocut.decrypt(phone_encrypted, 'user_management.USER.phone'), ',' ORDER BY id)) FROM user_management.\"USER\"")" = "$phones" ] \
    || fail "decrypt on the new primary"
mv "$D/zerocut.key" "$D/zerocut.key.away"
err=$(node "$PNEW" -At -d app -v VERBOSITY=sqlstate -c "SELECT zerocut.decrypt(phone_encrypted, 'user_management.USER.phone') FROM user_management.\"USER\" LIMIT 1" 2>&1) \
    && fail "decrypt worked without the key file"
grep -q 58P01 <<<"$err" || fail "without the key file: $err"
mv "$D/zerocut.key.away" "$D/zerocut.key"
echo "new primary: maintenance runs, the cron schedule is there, decrypt needs the key file (58P01 without it)"

# --- the old primary rejoins as the secondary ---------------------------------
start=$(now_ms)
autoctl_run "$OLD" "$D/$OLD-rejoin.log" run --pgdata "$D/$OLD"
[ "$(settle)" = "$NEW" ] || fail "$OLD came back as the primary"
echo "MEASURE failover: the old primary rejoined as secondary in $(($(now_ms) - start)) ms"
[ "$(node "$POLD" -At -c "SELECT pg_is_in_recovery()")" = t ] || fail "$OLD is not a standby"
for _ in $(seq 1 50); do
    [ "$(node "$POLD" -At -d app -c "SELECT count(*) FROM public.acked")" = "$(node "$PNEW" -At -d app -c "SELECT count(*) FROM public.acked")" ] && break
    sleep 0.2
done
[ "$(node "$POLD" -At -d app -c "SELECT count(*) FROM public.acked")" = "$(node "$PNEW" -At -d app -c "SELECT count(*) FROM public.acked")" ] \
    || fail "$OLD did not catch up"
out=$(node "$POLD" -At -d app -c "SELECT count(*) FROM zerocut.run_maintenance()" 2>&1)
grep -q "run_maintenance() does nothing on a hot standby" <<<"$out" || fail "run_maintenance on the new secondary: $out"
[ "$(node "$POLD" -At -d app -c "SELECT count(*) FROM cron.job WHERE jobname = 'zerocut-maintenance'")" = 1 ] || fail "cron job missing on $OLD"
echo "ok: failover, no acknowledged write lost, old primary back as secondary"
