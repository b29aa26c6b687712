#!/usr/bin/env bash
# Tenant isolation behind a real pool (issue 17, docs/isolation.md "Pools"):
# PgBouncer in transaction mode with 3 server connections in front of a
# throwaway cluster, and pgbench with 8 clients interleaving transactions of
# different app users over them, for 15 s:
#   user     sets a random user, then sees exactly that user's workspaces in
#            every tenant table (nothing before it set the user)
#   piped    as user, in one extended-protocol pipeline with one Sync and no
#            BEGIN/END (one implicit transaction)
#   nobody   sets no user: sees no row in any tenant table
#   writer   sets a random user, writes usage and consumption rows into one
#            of its workspaces; writing into, or moving a row to, a foreign
#            workspace fails with 42501, a foreign row cannot be updated
# The checks are functions made by the superuser (SECURITY INVOKER, run as
# the login role e2e_app IN ROLE application_user) against a reference the
# superuser computed from user_workspace and workspace; any difference
# raises, which aborts that pgbench client and fails the run.  Passes when
# pgbench reports no failed or aborted transaction and the backend pids
# logged by the transactions are at most the pool's size while the users
# are many (the pool really interleaved them).  Then the BEGIN/END scripts
# over the simple protocol for 4 s, and set_app_user() with no statement
# after it in its transaction must warn (extended protocol, alone and last
# in a pipeline).  Informational: a session-level SET through the same kind
# of pool leaks to the next client.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"

PGBOUNCER=${ZC_PGBOUNCER:-$(command -v pgbouncer || echo /usr/sbin/pgbouncer)}
PGBENCH=$ZC_BINDIR/pgbench
POOL_SIZE=3
CLIENTS=8
LOAD_SECONDS=${ISOLATION_E2E_SECONDS:-15}
WORKSPACES=30
USERS=100   # uid random(1, USERS): 90 sample users, 5 without membership, 5 unknown ids
[ -x "$PGBOUNCER" ] || { echo "FAIL: no pgbouncer at $PGBOUNCER (package pgbouncer, scripts/setup.sh)"; exit 1; }

BOUNCER_PID=
cleanup() {
    if [ -n "$BOUNCER_PID" ]; then
        kill -INT "$BOUNCER_PID" 2>/dev/null || true    # safe shutdown
        for _ in $(seq 1 50); do kill -0 "$BOUNCER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$BOUNCER_PID" 2>/dev/null || true
    fi
    zc_cluster_stop
}
trap cleanup EXIT
zc_cluster_start "lc_messages = 'C'" "max_connections = 40"

zc_psql -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION zerocut" \
    -c "SELECT zerocut.install_domain_schema()" -c "SELECT zerocut.generate_sample_data($WORKSPACES, 20)" >/dev/null

# Memberships of every kind (sample data: users 3w-2..3w active in workspace w).
zc_psql -q >/dev/null <<SQL
SET client_min_messages = warning;
-- users 1..15 are also active members of workspaces 21..25 (two workspaces each)
INSERT INTO workspace_domain.user_workspace (user_id, workspace_id, status)
SELECT u, 20 + (u + 2) / 3, 'active' FROM generate_series(1, 15) AS u;
-- users 16..20 have an inactive membership in workspace 26 besides their own
INSERT INTO workspace_domain.user_workspace (user_id, workspace_id, status)
SELECT u, 26, 'inactive' FROM generate_series(16, 20) AS u;
-- workspace 29 is suspended, 30 deleted: their members see nothing
UPDATE workspace_domain.workspace SET status = 'suspended' WHERE id = 29;
UPDATE workspace_domain.workspace SET status = 'deleted' WHERE id = 30;
-- users 91..95 have no membership; ids 96..100 do not exist
INSERT INTO user_management."USER" (id, email, password_hash, username)
SELECT id, 'lonely' || id || '@example.com', 'hash', 'lonely' || id FROM generate_series(91, 95) AS id;

SELECT zerocut.setup_roles();
SELECT zerocut.enable_workspace_isolation();
CREATE ROLE e2e_app LOGIN IN ROLE application_user;

-- The reference, from the memberships directly: a user's workspaces are
-- their active memberships in active workspaces; the users they see are
-- themself and the active members of those workspaces.
CREATE TABLE e2e_membership AS
SELECT u AS uid, m.workspace_id
FROM generate_series(1, $USERS) AS u
JOIN workspace_domain.user_workspace m ON m.user_id = u AND m.status = 'active'
JOIN workspace_domain.workspace w ON w.id = m.workspace_id AND w.status = 'active';
-- What each user must see of each tenant table: the keys present in it
-- (the superuser sees every row) that belong to the user.
CREATE TABLE e2e_expected (uid integer, relation regclass, key integer);
DO \$\$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT relation, tenant_key FROM zerocut.tenant_tables() LOOP
        EXECUTE format(\$q\$
            INSERT INTO e2e_expected
            WITH present AS (SELECT DISTINCT %s AS key FROM %s),
                 visible AS (SELECT uid, workspace_id AS key FROM e2e_membership WHERE %L <> 'user'
                             UNION
                             SELECT u, u FROM generate_series(1, $USERS) AS u WHERE %L = 'user'
                             UNION
                             SELECT mine.uid, other.user_id
                             FROM e2e_membership mine
                             JOIN workspace_domain.user_workspace other
                               ON other.workspace_id = mine.workspace_id AND other.status = 'active'
                             WHERE %L = 'user')
            SELECT v.uid, %L::regclass, v.key FROM visible v JOIN present p ON p.key = v.key\$q\$,
            CASE t.tenant_key WHEN 'log' THEN 'zerocut.log_row_workspace(metadata)'
                              WHEN 'workspace_id' THEN 'workspace_id' ELSE 'id' END,
            t.relation, t.tenant_key, t.tenant_key, t.tenant_key, t.relation);
    END LOOP;
END
\$\$;
CREATE TABLE e2e_seen (pid integer NOT NULL, uid integer, script text NOT NULL);

-- What the current transaction sees of one tenant table: its distinct keys.
CREATE FUNCTION e2e_keys(relation regclass, tenant_key text) RETURNS integer[]
    LANGUAGE plpgsql STABLE AS \$\$
DECLARE
    seen integer[];
BEGIN
    EXECUTE format('SELECT coalesce(array_agg(DISTINCT %s ORDER BY %s), ''{}'') FROM %s',
                   CASE tenant_key WHEN 'log' THEN 'zerocut.log_row_workspace(metadata)'
                                   WHEN 'workspace_id' THEN 'workspace_id' ELSE 'id' END,
                   CASE tenant_key WHEN 'log' THEN 'zerocut.log_row_workspace(metadata)'
                                   WHEN 'workspace_id' THEN 'workspace_id' ELSE 'id' END,
                   relation) INTO seen;
    RETURN seen;
END
\$\$;

-- user: every tenant table shows at least the expected keys and none but
-- the user's (writers may add rows to the user's own workspaces meanwhile).
CREATE FUNCTION e2e_check(uid integer) RETURNS integer LANGUAGE plpgsql AS \$\$
DECLARE
    t record;
    seen integer[];
    expected integer[];
    allowed integer[];
    tables integer := 0;
BEGIN
    FOR t IN SELECT relation, tenant_key FROM zerocut.tenant_tables() LOOP
        seen := e2e_keys(t.relation, t.tenant_key);
        expected := ARRAY(SELECT e.key FROM e2e_expected e
                          WHERE e.uid = e2e_check.uid AND e.relation = t.relation ORDER BY 1);
        allowed := CASE WHEN t.tenant_key = 'user' THEN expected
                        ELSE ARRAY(SELECT m.workspace_id FROM e2e_membership m WHERE m.uid = e2e_check.uid) END;
        IF NOT (seen @> expected AND seen <@ allowed) THEN
            RAISE EXCEPTION 'user %: % shows keys % but must show % (and nothing outside %), setting %',
                uid, t.relation, seen, expected, allowed, quote_literal(current_setting('app.current_user_id', true));
        END IF;
        tables := tables + 1;
    END LOOP;
    RETURN tables;
END
\$\$;

-- nobody: no row in any tenant table.
CREATE FUNCTION e2e_check_nothing() RETURNS integer LANGUAGE plpgsql AS \$\$
DECLARE
    t record;
    seen integer[];
    tables integer := 0;
BEGIN
    FOR t IN SELECT relation, tenant_key FROM zerocut.tenant_tables() LOOP
        EXECUTE format('SELECT ARRAY(SELECT 1 FROM %s LIMIT 1)', t.relation) INTO seen;
        IF cardinality(seen) > 0 THEN
            RAISE EXCEPTION 'no user set, yet % shows keys %, setting %', t.relation,
                e2e_keys(t.relation, t.tenant_key), quote_literal(current_setting('app.current_user_id', true));
        END IF;
        tables := tables + 1;
    END LOOP;
    RETURN tables;
END
\$\$;

-- writer: rows into one of the user's workspaces succeed and are visible;
-- into a foreign workspace (or a row moved there) fail with 42501; a
-- foreign row cannot be updated.
CREATE FUNCTION e2e_write(uid integer) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
    own integer := (SELECT workspace_id FROM e2e_membership m WHERE m.uid = e2e_write.uid ORDER BY random() LIMIT 1);
    foreign_ws integer := (SELECT w FROM generate_series(1, $WORKSPACES) AS w
                           WHERE w NOT IN (SELECT workspace_id FROM e2e_membership m WHERE m.uid = e2e_write.uid)
                           ORDER BY random() LIMIT 1);
    new_id bigint;
    rows bigint;
    attempt text;
BEGIN
    IF own IS NOT NULL THEN
        INSERT INTO financial_management.consumption_record (workspace_id, user_id, amount, description)
        VALUES (own, uid, 0.01, 'e2e') RETURNING id INTO new_id;
        IF NOT EXISTS (SELECT FROM financial_management.consumption_record WHERE id = new_id) THEN
            RAISE EXCEPTION 'user %: own consumption record % in workspace % is not visible', uid, new_id, own;
        END IF;
        INSERT INTO data_statistics.usage_stats AS u (workspace_id, date, api_calls)
        VALUES (own, DATE '2031-01-01', 1)
        ON CONFLICT (workspace_id, date) DO UPDATE SET api_calls = u.api_calls + 1;
        -- moving the own row into the foreign workspace
        BEGIN
            UPDATE financial_management.consumption_record SET workspace_id = foreign_ws WHERE id = new_id;
            RAISE EXCEPTION 'user %: moved consumption record % from workspace % to foreign %', uid, new_id, own, foreign_ws;
        EXCEPTION WHEN insufficient_privilege THEN NULL;
        END;
    END IF;
    FOREACH attempt IN ARRAY ARRAY[
        format('INSERT INTO financial_management.consumption_record (workspace_id, amount) VALUES (%s, 0.01)', foreign_ws),
        format('INSERT INTO data_statistics.usage_stats (workspace_id, date, api_calls) VALUES (%s, DATE ''2031-01-02'', 1)', foreign_ws)]
    LOOP
        BEGIN
            EXECUTE attempt;
            RAISE EXCEPTION 'user %: a write into foreign workspace % succeeded: %', uid, foreign_ws, attempt;
        EXCEPTION WHEN insufficient_privilege THEN NULL;
        END;
    END LOOP;
    UPDATE data_statistics.usage_stats SET api_calls = api_calls + 1 WHERE workspace_id = foreign_ws;
    GET DIAGNOSTICS rows = ROW_COUNT;
    IF rows <> 0 THEN
        RAISE EXCEPTION 'user %: updated % usage rows of foreign workspace %', uid, rows, foreign_ws;
    END IF;
    RETURN format('own %s foreign %s', own, foreign_ws);
END
\$\$;
REVOKE ALL ON FUNCTION e2e_keys(regclass, text), e2e_check(integer), e2e_check_nothing(), e2e_write(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION e2e_keys(regclass, text), e2e_check(integer), e2e_check_nothing(), e2e_write(integer) TO e2e_app;
GRANT SELECT ON e2e_membership, e2e_expected TO e2e_app;
GRANT INSERT ON e2e_seen TO e2e_app;
SQL
zc_psql -At -c "SELECT 'reference: ' || count(DISTINCT uid) || ' users with workspaces, '
                       || count(*) || ' (user, table, key) rows' FROM e2e_expected"

# PgBouncer, as the cluster's user, on a unix socket in the cluster's private
# directory.  "leak" is a second pool of one connection for the anti-pattern.
BOUNCER_PORT=$((ZC_PORT + 1))
zc_as_owner tee "$ZC_DIR/userlist.txt" >/dev/null <<EOF
"e2e_app" ""
"postgres" ""
EOF
zc_as_owner tee "$ZC_DIR/pgbouncer.ini" >/dev/null <<EOF
[databases]
e2e = host=$ZC_SOCK port=$ZC_PORT dbname=postgres
leak = host=$ZC_SOCK port=$ZC_PORT dbname=postgres pool_size=1

[pgbouncer]
unix_socket_dir = $ZC_DIR
listen_port = $BOUNCER_PORT
auth_type = trust
auth_file = $ZC_DIR/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = $POOL_SIZE
reserve_pool_size = 0
max_client_conn = 50
logfile = $ZC_DIR/pgbouncer.log
pidfile = $ZC_DIR/pgbouncer.pid
EOF
zc_as_owner "$PGBOUNCER" -d "$ZC_DIR/pgbouncer.ini" || { cat "$ZC_DIR/pgbouncer.log" 2>/dev/null; echo "FAIL: pgbouncer did not start"; exit 1; }
for _ in $(seq 1 50); do [ -s "$ZC_DIR/pgbouncer.pid" ] && [ -S "$ZC_DIR/.s.PGSQL.$BOUNCER_PORT" ] && break; sleep 0.1; done
BOUNCER_PID=$(cat "$ZC_DIR/pgbouncer.pid")
bouncer() { psql -X -v ON_ERROR_STOP=1 -h "$ZC_SOCK" -p "$BOUNCER_PORT" "$@"; }
echo "pgbouncer $("$PGBOUNCER" --version | head -n 1 | cut -d' ' -f2) pid $BOUNCER_PID, transaction pooling, pool size $POOL_SIZE"
[ "$(bouncer -U e2e_app -d e2e -At -c "SELECT current_user")" = e2e_app ] || { echo "FAIL: no connection through pgbouncer"; exit 1; }

# The client pool.
cat >"$ZC_DIR/user.pgb" <<EOF
\set uid random(1, $USERS)
BEGIN;
SELECT e2e_check_nothing();
SELECT zerocut.set_app_user(:uid);
SELECT e2e_check(:uid);
INSERT INTO e2e_seen VALUES (pg_backend_pid(), :uid, 'user');
END;
EOF
# The same in one round trip with no BEGIN: an extended-protocol pipeline's
# statements up to its Sync are one transaction, so the user holds to the
# end of it and not beyond (docs/isolation.md "Pools").
cat >"$ZC_DIR/piped.pgb" <<EOF
\set uid random(1, $USERS)
\startpipeline
SELECT e2e_check_nothing();
SELECT zerocut.set_app_user(:uid);
SELECT e2e_check(:uid);
INSERT INTO e2e_seen VALUES (pg_backend_pid(), :uid, 'piped');
\endpipeline
EOF
cat >"$ZC_DIR/nobody.pgb" <<EOF
BEGIN;
SELECT e2e_check_nothing();
INSERT INTO e2e_seen VALUES (pg_backend_pid(), NULL, 'nobody');
END;
EOF
cat >"$ZC_DIR/writer.pgb" <<EOF
\set uid random(1, $USERS)
BEGIN;
SELECT zerocut.set_app_user(:uid);
SELECT e2e_write(:uid);
INSERT INTO e2e_seen VALUES (pg_backend_pid(), :uid, 'writer');
END;
EOF
chmod a+r "$ZC_DIR"/*.pgb
echo "pgbench -M extended: $CLIENTS clients, $LOAD_SECONDS s, scripts user@3 piped@2 nobody@2 writer@2"
set +e
"$PGBENCH" -n -M extended -h "$ZC_SOCK" -p "$BOUNCER_PORT" -U e2e_app -c "$CLIENTS" -j 2 -T "$LOAD_SECONDS" \
    -f "$ZC_DIR/user.pgb@3" -f "$ZC_DIR/piped.pgb@2" -f "$ZC_DIR/nobody.pgb@2" -f "$ZC_DIR/writer.pgb@2" e2e >"$ZC_DIR/pgbench.log" 2>&1
pgbench_rc=$?
set -e
status=0
grep -E "^(number of|tps|latency average)" "$ZC_DIR/pgbench.log" || true
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$ZC_DIR/pgbench.log")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$ZC_DIR/pgbench.log")
if [ "$pgbench_rc" != 0 ] || [ "${failed:-0}" != 0 ] || [ -z "$processed" ] || [ "$processed" = 0 ] \
    || grep -qE "ERROR|WARNING|aborted" "$ZC_DIR/pgbench.log"; then
    echo "FAIL: pgbench exited with $pgbench_rc, failed transactions ${failed:-?}:"
    grep -E "ERROR|WARNING|error|aborted|DETAIL|CONTEXT" "$ZC_DIR/pgbench.log" | head -n 20
    status=1
fi

# The pool interleaved users over few server connections.
zc_psql -At -F ' ' -c "SELECT script, count(*), count(DISTINCT uid), count(DISTINCT pid) FROM e2e_seen GROUP BY 1 ORDER BY 1" \
    | awk '{ printf "  %-7s %6d transactions, %3d users, %d backends\n", $1, $2, $3, $4 }'
read -r logged pids users max_users_per_pid <<<"$(zc_psql -At -F ' ' -c "
    SELECT count(*), count(DISTINCT pid), count(DISTINCT uid),
           (SELECT max(n) FROM (SELECT count(DISTINCT uid) AS n FROM e2e_seen GROUP BY pid) x)
    FROM e2e_seen")"
echo "server backends used: $pids (pool size $POOL_SIZE); users seen: $users; most users on one backend: $max_users_per_pid"
if [ "$logged" != "${processed:-x}" ]; then
    echo "FAIL: $logged transactions logged, pgbench processed ${processed:-?}"; status=1
fi
if [ "$pids" -gt "$POOL_SIZE" ] || [ "$pids" -lt 1 ] || [ "$users" -lt $((POOL_SIZE * 10)) ] \
    || [ "$max_users_per_pid" -lt $((POOL_SIZE * 3)) ]; then
    echo "FAIL: the pool did not interleave users over at most $POOL_SIZE server connections"; status=1
fi
# The simple protocol through the pool too (the run above is -M extended):
# the BEGIN/END scripts, a few seconds.
"$PGBENCH" -n -M simple -h "$ZC_SOCK" -p "$BOUNCER_PORT" -U e2e_app -c "$CLIENTS" -j 2 -T 4 \
    -f "$ZC_DIR/user.pgb@3" -f "$ZC_DIR/nobody.pgb@2" -f "$ZC_DIR/writer.pgb@2" e2e >"$ZC_DIR/pgbench-simple.log" 2>&1 \
    && ! grep -qE "ERROR|WARNING|aborted" "$ZC_DIR/pgbench-simple.log" \
    && echo "pgbench -M simple: $(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$ZC_DIR/pgbench-simple.log") transactions, none failed" \
    || { echo "FAIL: pgbench -M simple through the pool:"; grep -E "ERROR|WARNING|error|aborted" "$ZC_DIR/pgbench-simple.log" | head -n 10; status=1; }
# A user set for nothing is still reported: set_app_user() as a lone
# statement outside a block, over the extended protocol (Parse, Bind,
# Execute, Sync: its transaction ends with it), warns; so does a pipeline
# that ends with it.  The piped script above (queries after it) did not.
printf '%s\n' 'SELECT zerocut.set_app_user(7);' >"$ZC_DIR/lone.pgb"
printf '%s\n' '\startpipeline' 'SELECT 1;' 'SELECT zerocut.set_app_user(7);' '\endpipeline' >"$ZC_DIR/last.pgb"
chmod a+r "$ZC_DIR"/*.pgb
for script in lone last; do
    warnings=$("$PGBENCH" -n -M extended -h "$ZC_SOCK" -p "$BOUNCER_PORT" -U e2e_app -t 2 -f "$ZC_DIR/$script.pgb" e2e 2>&1 \
        | grep -c "WARNING:  zerocut.set_app_user() outside a transaction block")
    if [ "$warnings" = 2 ]; then
        echo "set_app_user() with no statement after it ($script, extended protocol): warned 2 of 2 times"
    else
        echo "FAIL: set_app_user() with no statement after it ($script, extended protocol): $warnings warnings in 2 transactions"; status=1
    fi
done

# PgBouncer's own view of the pool (its admin console).
bouncer -U postgres -d pgbouncer -A -F '|' -c "SHOW POOLS" | awk -F '|' '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == "e2e" { printf "pgbouncer SHOW POOLS e2e: %s, server connections idle %s, used %s, active %s\n",
                  $col["pool_mode"], $col["sv_idle"], $col["sv_used"], $col["sv_active"] }' || true

# Informational: the documented anti-pattern.  A session-level SET through a
# transaction pool stays on the server connection and reaches the next
# client of that connection (pool "leak" has one).
bouncer -U e2e_app -d leak -q -c "SET app.current_user_id = '1'"
leaked=$(bouncer -U e2e_app -d leak -At -c "SELECT count(*) FROM workspace_domain.workspace")
echo "anti-pattern (informational): after another client's session-level SET app.current_user_id = '1'," \
     "a client that set no user saw $leaked workspace(s) through the pool (0 = no leak)"

zc_check_server_log || status=1
if grep -qE "FATAL|ERROR" "$ZC_DIR/pgbouncer.log"; then
    echo "pgbouncer log:"; grep -E "FATAL|ERROR" "$ZC_DIR/pgbouncer.log" | head -n 10
fi
[ "$status" = 0 ] && echo ok
exit "$status"
