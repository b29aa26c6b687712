#!/usr/bin/env bash
# scripts/zerocut-backup and scripts/zerocut-restore on a database that uses
# every zerocut configuration table (partitions, archive policies, audit
# config, keys and key grants, protected columns, the isolation registry)
# and a pg_cron schedule: a verified dump, retention by count and age,
# failures that keep the old dumps, then a restore into another cluster (a
# new machine: same key file, roles from --globals) where every domain and
# configuration table has the source's rows and checksum, and every part of
# zerocut works.  The restore-order problems are checked on the way:
# triggers do not fire during the restore (audit log, updated_at and
# ciphertexts unchanged), partitions and archive partitions come back
# attached, RLS is back in force for the application role.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"
source "$ROOT/test/lib/ops.sh"
BACKUP=$ROOT/scripts/zerocut-backup
RESTORE=$ROOT/scripts/zerocut-restore
WORK=$(mktemp -d /tmp/zerocut-ops-dump.XXXXXX)
trap 'ops_cleanup; rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

conf=("shared_preload_libraries = 'pg_cron'" "cron.database_name = 'app'" "timezone = 'UTC'"
      "zerocut.key_file = 'zerocut.key'")
ops_cluster_start A "${conf[@]}"
ops_cluster_start B "${conf[@]}"
key=$(ops_key_file "$A_DATA")
ops_key_file "$B_DATA" "$key" >/dev/null   # the same root key on every node

ops_psql A -q -c "CREATE DATABASE app"
ops_psql A -q -d app >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_cron;
CREATE EXTENSION zerocut;
SELECT zerocut.install_domain_schema();
SELECT zerocut.generate_sample_data(6, 300);
SELECT zerocut.archive_old_consumption_records();
-- an archive policy of our own, on a plain table
CREATE TABLE public.events (id int PRIMARY KEY, at timestamptz NOT NULL, note text);
INSERT INTO public.events SELECT i, now() - i * interval '1 day', 'e' || i FROM generate_series(1, 400) i;
SELECT zerocut.set_archive_policy('public.events', 'at', '6 months', batch_size => 100);
-- audit with an excluded column
SELECT zerocut.enable_audit('public.events', exclude_columns => ARRAY['note']);
UPDATE public.events SET note = 'changed' WHERE id = 1;
-- keys: a protected column, a second key, a grant
SELECT zerocut.create_key('default');
SELECT zerocut.protect_column('user_management."USER"', 'phone');
CALL zerocut.encrypt_column_backfill('user_management."USER"', 'phone');
SELECT zerocut.create_key('billing');
SELECT zerocut.rotate_key('billing');
-- isolation: roles, RLS on every tenant table, the registry
SELECT zerocut.setup_roles();
CREATE ROLE ops_app LOGIN IN ROLE application_user;
CREATE ROLE ops_support IN ROLE readonly_user;  -- reads every tenant (RLS), decrypts by its key grant
GRANT USAGE ON SCHEMA zerocut, user_management TO ops_support;
GRANT SELECT ON user_management."USER" TO ops_support;
GRANT EXECUTE ON FUNCTION zerocut.decrypt(bytea, text) TO ops_support;
SELECT zerocut.grant_key('default', 'ops_support', encrypt => false);
SELECT zerocut.enable_workspace_isolation();
-- the job schedule (pg_cron's cron.job is its extension's configuration table)
SELECT cron.schedule('zerocut-maintenance', '5 * * * *', 'CALL zerocut.run_maintenance_proc()');
SQL
for t in partition_config archive_policy audit_config encryption_keys key_grant protected_column workspace_isolation; do
    [ "$(ops_psql A -At -d app -c "SELECT count(*) > 0 FROM zerocut.$t")" = t ] || fail "zerocut.$t is empty in the source"
done
export PGHOST=$A_DIR PGPORT=$A_PORT PGUSER=postgres

# --- zerocut-backup -------------------------------------------------------
grep -q -- '--keep-count' <<<"$("$BACKUP" --help)" || fail "--help"
rc=0; "$BACKUP" app 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "no --dir: exit $rc, expected 2"
rc=0; "$BACKUP" --dir "$WORK/b" --keep-days x app 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "bad --keep-days: exit $rc, expected 2"
rc=0; "$BACKUP" --dir "$WORK/c" --bindir "$ZC_BINDIR" no_such_db 2>/dev/null || rc=$?
[ "$rc" = 3 ] || fail "missing database: exit $rc, expected 3"
grep -q 'status=failed step=connect rc=3' "$WORK/c/zerocut-backup.log" || fail "no failure line for a missing database"

# Old dumps of app (one 40 days old), and of another database whose name
# starts like it: retention must only ever touch app's.
mkdir -p "$WORK/b"
for f in app_20000101T000000Z.dump app_x_20000101T000000Z.dump; do echo old >"$WORK/b/$f"; done
recent=app_$(date -u -d '-2 days' +%Y%m%dT%H%M%SZ).dump
echo recent >"$WORK/b/$recent"

out=$("$BACKUP" --dir "$WORK/b" --keep-days 30 --globals --bindir "$ZC_BINDIR" app)
dump=$(tail -n 1 <<<"$out")
globals=$(head -n 1 <<<"$out")
echo "backup: $dump"
[[ $dump == "$WORK/b/app_"*Z.dump && -s $dump ]] || fail "path printed last: '$dump'"
[[ $globals == *.globals.sql ]] || fail "globals file '$globals'"
grep -q 'CREATE ROLE ops_support' "$globals" || fail "no ops_support in $globals"
(cd "$WORK/b" && sha256sum --quiet -c "$(basename "$dump").sha256") || fail "checksum file"
grep -q 'EXTENSION - zerocut' <<<"$("$ZC_BINDIR/pg_restore" --list "$dump")" || fail "no zerocut in the dump"
head -c 5 "$dump" | grep -q PGDMP || fail "not a custom-format archive (a second compression?)"
[ ! -e "$WORK/b/app_20000101T000000Z.dump" ] || fail "the 2000 dump was not removed by --keep-days 30"
[ -e "$WORK/b/app_x_20000101T000000Z.dump" ] || fail "retention removed another database's dump"
[ -e "$WORK/b/$recent" ] || fail "retention removed a recent dump"
[ "$(wc -l <"$WORK/b/zerocut-backup.log")" = 1 ] || fail "one log line per run"
grep -qE "status=ok db=app file=$dump bytes=[0-9]+ seconds=[0-9]+ sha256=[0-9a-f]{64} removed=1$" "$WORK/b/zerocut-backup.log" \
    || fail "log line: $(cat "$WORK/b/zerocut-backup.log")"

# A failing pg_dump: exit 4, no dump kept, nothing removed, a failure line.
mkdir "$WORK/badbin"
for tool in psql pg_restore pg_dumpall; do ln -s "$ZC_BINDIR/$tool" "$WORK/badbin/$tool"; done
printf '#!/bin/sh\necho "pg_dump: error: disk full (simulated)" >&2\nexit 1\n' >"$WORK/badbin/pg_dump"
chmod +x "$WORK/badbin/pg_dump"
listing() { find "$WORK/b" -mindepth 1 -printf '%f\n' | sort; }
before=$(listing)
rc=0; "$BACKUP" --dir "$WORK/b" --keep-count 1 --bindir "$WORK/badbin" app >"$WORK/out" 2>/dev/null || rc=$?
[ "$rc" = 4 ] || fail "failing pg_dump: exit $rc, expected 4"
[ ! -s "$WORK/out" ] || fail "a failed run printed a path"
[ "$(listing)" = "$before" ] || fail "a failed run changed the directory: $(listing)"
tail -n 1 "$WORK/b/zerocut-backup.log" | grep -q 'status=failed step=dump rc=4 db=app' || fail "failure log line"

# --keep-count 2: the new dump and the newest old one of app stay.
sleep 1
dump2=$("$BACKUP" --dir "$WORK/b" --keep-days 0 --keep-count 2 --bindir "$ZC_BINDIR" app | tail -n 1)
[[ -e $dump2 && -e $dump && ! -e $WORK/b/$recent ]] || fail "--keep-count 2 kept: $(listing)"
rm -f "$dump2" "$dump2.sha256"

# The state the restore must reproduce, taken right after the dump.
state_a=$(ops_state A app)

# --- zerocut-restore ------------------------------------------------------
export PGHOST=$B_DIR PGPORT=$B_PORT
# A damaged copy is refused before anything is touched.
cp "$dump" "$WORK/damaged.dump"
sed "s/$(basename "$dump")/damaged.dump/" "$dump.sha256" >"$WORK/damaged.dump.sha256"
printf 'x' | dd of="$WORK/damaged.dump" bs=1 seek=3000 conv=notrunc status=none
rc=0; "$RESTORE" --create --bindir "$ZC_BINDIR" "$WORK/damaged.dump" app 2>"$WORK/err" || rc=$?
[ "$rc" = 3 ] || fail "damaged dump: exit $rc, expected 3"
grep -q "does not match its checksum" "$WORK/err" || fail "damaged dump message: $(cat "$WORK/err")"
[ "$(ops_psql B -At -c "SELECT count(*) FROM pg_database WHERE datname = 'app'")" = 0 ] || fail "damaged dump created app"
# A database that is not empty is refused.
ops_psql B -q -c "CREATE DATABASE busy" && ops_psql B -q -d busy -c "CREATE TABLE t (i int)"
rc=0; "$RESTORE" --bindir "$ZC_BINDIR" "$dump" busy 2>"$WORK/err" || rc=$?
[ "$rc" = 4 ] || fail "non-empty target: exit $rc, expected 4"
grep -q "not empty" "$WORK/err" || fail "non-empty target: $(cat "$WORK/err")"

# The new machine: roles first (from --globals), then the database.
ops_psql B -q -v ON_ERROR_STOP=0 -f "$globals" >/dev/null 2>"$WORK/globals.err" || true
if grep -v 'already exists' "$WORK/globals.err" | grep ERROR; then fail "loading the globals"; fi
# pg_cron's extension can only be created in cron.database_name: the dump
# restores into a database of that name only; a failed --create leaves no
# database behind.
rc=0; "$RESTORE" --create --bindir "$ZC_BINDIR" "$dump" other >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 5 ] || fail "restore into another name than cron.database_name: exit $rc, expected 5"
grep -q 'can only create extension in database app' "$WORK/err" || fail "pg_cron's error: $(cat "$WORK/err")"
[ "$(ops_psql B -At -c "SELECT count(*) FROM pg_database WHERE datname = 'other'")" = 0 ] || fail "the failed --create left its database"
# Into an existing empty database, in parallel: the same result.
ops_psql B -q -c "CREATE DATABASE app"
"$RESTORE" --jobs 2 --bindir "$ZC_BINDIR" "$dump" app >"$WORK/jobs.out" 2>&1 || { cat "$WORK/jobs.out"; fail "--jobs 2"; }
grep -q 'counts match' "$WORK/jobs.out" || fail "--jobs 2 into an empty database"
[ "$(ops_state B app)" = "$state_a" ] || fail "the parallel restore differs from the source"
ops_psql B -q -c "DROP DATABASE app WITH (FORCE)"   # pg_cron's launcher is connected to it

start=$(date +%s%N)
summary=$("$RESTORE" --create --bindir "$ZC_BINDIR" "$dump" app)
echo "$summary ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
[[ $summary == *"counts match; zerocut "* ]] || fail "restore summary: $summary"

state_b=$(ops_state B app)
if [ "$state_a" != "$state_b" ]; then
    diff <(echo "$state_a") <(echo "$state_b") >&2 || true
    fail "the restored database differs from the source (table|rows|md5 above)"
fi
echo "every domain and configuration table equal: $(wc -l <<<"$state_b") tables"

# pg_cron's schedule came back with the database.
[ "$(ops_psql B -At -d app -c "SELECT schedule || ' ' || command FROM cron.job WHERE jobname = 'zerocut-maintenance'")" \
    = '5 * * * * CALL zerocut.run_maintenance_proc()' ] || fail "cron job not restored"

# Partitions came back attached (no row in a default partition, every
# managed parent has its premade partitions), archive partitions too.
ops_psql B -q -At -d app -c "SET client_min_messages = warning" -c "SELECT * FROM zerocut.run_maintenance()" >"$WORK/maint.b"
ops_psql A -q -At -d app -c "SET client_min_messages = warning" -c "SELECT * FROM zerocut.run_maintenance()" >"$WORK/maint.a"
cmp -s <(cut -d'|' -f1-3 "$WORK/maint.a") <(cut -d'|' -f1-3 "$WORK/maint.b") || fail "maintenance differs: $(cat "$WORK/maint.a") / $(cat "$WORK/maint.b")"
tree() { ops_psql "$1" -At -d app -c "SELECT string_agg(relid::regclass::text || ':' || coalesce(parentrelid::regclass::text, ''), ' ' ORDER BY relid::regclass::text)
    FROM (SELECT * FROM pg_partition_tree('financial_management.consumption_record') UNION ALL SELECT * FROM pg_partition_tree('archive.consumption_record_archive')) t"; }
[ "$(tree A)" = "$(tree B)" ] || fail "partition trees differ"

# Archiving goes on in the restored database exactly as in the source.
arch() { ops_psql "$1" -q -At -d app -c "SET client_min_messages = warning" -c "CALL zerocut.archive_proc('public.events')" \
    -c "SELECT (SELECT count(*) FROM public.events) || '/' || (SELECT count(*) FROM archive.events_archive)"; }
[ "$(arch A)" = "$(arch B)" ] || fail "archive_proc differs after the restore"

# Auditing goes on, with the excluded column redacted.
ops_psql B -q -d app -c "UPDATE public.events SET note = 'secret', at = at - interval '1 second' WHERE id = (SELECT min(id) FROM public.events)"
[ "$(ops_psql B -At -d app -c "SELECT metadata -> 'new_data' ->> 'note' FROM audit_log.system_log WHERE metadata ->> 'table' = 'events' ORDER BY id DESC LIMIT 1")" \
    = "[redacted]" ] || { ops_psql B -d app -c "SELECT id, message, metadata FROM audit_log.system_log ORDER BY id DESC LIMIT 3"; fail "audit after restore"; }

# Keys: the restored keyring unwraps with the same key file; ciphertexts and
# blind indexes are unchanged; the protect trigger encrypts new values; the
# grant to ops_support holds.
phones() { ops_psql "$1" -At -d app -c "SELECT md5(string_agg(zerocut.decrypt(phone_encrypted, 'user_management.USER.phone'), ',' ORDER BY id)) FROM user_management.\"USER\""; }
[ "$(phones A)" = "$(phones B)" ] || fail "decrypted phones differ"
ops_psql B -q -d app -c "UPDATE user_management.\"USER\" SET phone = '+86 139 0000 4242' WHERE id = 2"
found=$(ops_psql B -At -d app -c "SELECT id || ':' || zerocut.decrypt(phone_encrypted, 'user_management.USER.phone') FROM user_management.\"USER\" WHERE phone_bidx = zerocut.blind_index('+86 139 0000 4242')")
[ "$found" = '2:+86 139 0000 4242' ] || fail "protect trigger / blind index after restore: '$found'"
support=$(ops_psql B -q -At -d app -c "SET ROLE ops_support" -c "SELECT zerocut.decrypt(phone_encrypted, 'user_management.USER.phone') FROM user_management.\"USER\" WHERE id = 2" 2>&1) || true
[ "$support" = '+86 139 0000 4242' ] || fail "key grant after restore: $support"
# Without the key file nothing decrypts: the file must be on every node.
if ops_psql B -At -d app -c "SET zerocut.key_file = 'missing.key'" -c "SELECT zerocut.decrypt(phone_encrypted, 'user_management.USER.phone') FROM user_management.\"USER\" WHERE id = 3" >/dev/null 2>&1; then
    fail "decrypt worked without the key file"
fi

# Isolation: RLS is in force again; the application role sees its tenant only.
iso() { ops_psql "$1" -q -At -d app -c "SET ROLE ops_app" -c "BEGIN" -c "SELECT zerocut.set_app_user(1)" \
    -c "SELECT (SELECT string_agg(id::text, ',' ORDER BY id) FROM workspace_domain.workspace) || '/' || (SELECT count(*) FROM data_statistics.usage_stats)" -c "COMMIT" | grep /; }
iso_a=$(iso A)
echo "user 1 through ops_app sees workspaces/usage rows: $iso_a"
[ "$iso_a" = "$(iso B)" ] || fail "isolation differs after the restore: $iso_a / $(iso B)"
[ "$(ops_psql B -q -At -d app -c "SET ROLE ops_app" -c "SELECT count(*) FROM workspace_domain.workspace")" = 0 ] || fail "no user, rows visible"
# The security linter finds the same (nothing new) on the restored copy.
lint() { ops_psql "$1" -At -d app -c "SELECT severity || ' ' || object || ' ' || problem FROM zerocut.check_security()"; }
[ "$(lint A)" = "$(lint B)" ] || fail "check_security() differs: $(diff <(lint A) <(lint B))"

zc_check_server_log "$A_DIR/server.log"
zc_check_server_log "$B_DIR/server.log"
echo "ok: verified backup, retention, failures, restore on a new cluster with every zerocut configuration"
