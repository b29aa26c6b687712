#!/usr/bin/env bash
# The audit settings survive pg_dump/restore: zerocut.audit_config rows
# (an extension configuration table) and the triggers that carry them, so
# the restored database keeps auditing with the same exclusions.  The
# rows find their tables by OID (audit_config.relation, a regclass): the
# dump names them, the restore finds the new OIDs; a table renamed before
# the dump is audited under its new name after the restore.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/test/lib/cluster.sh"
trap zc_cluster_stop EXIT
zc_cluster_start

zc_psql -q -c "CREATE DATABASE src"
zc_psql -q -d src <<'SQL'
CREATE EXTENSION zerocut;
SELECT zerocut.install_domain_schema();
CREATE TABLE public.secrets_first (id int PRIMARY KEY, name text, token text);
SELECT zerocut.enable_audit('public.secrets_first', exclude_columns => ARRAY['token'], mode => 'statement');
ALTER TABLE public.secrets_first RENAME TO secrets;
INSERT INTO public.secrets VALUES (1, 'a', 'tok-1');
SQL
zc_as_owner "$ZC_BINDIR/pg_dump" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -Fc -f "$ZC_DIR/src.dump" src
zc_psql -q -c "CREATE DATABASE dst"
zc_as_owner "$ZC_BINDIR/pg_restore" -h "$ZC_SOCK" -p "$ZC_PORT" -U postgres -d dst --exit-on-error "$ZC_DIR/src.dump"

config=$(zc_psql -At -d dst -c "SELECT string_agg(c, ' ' ORDER BY c) FROM (SELECT schema_name || '.' || table_name || ':' || mode || ':' || exclude_columns::text AS c FROM zerocut.audit_config) s")
echo "restored config: $config"
[ "$config" = 'financial_management.account:row:{} public.secrets:statement:{token} user_management.USER:row:{} workspace_domain.workspace:row:{}' ]
# Every row names its table, by the restored table's OID.
mismatched=$(zc_psql -qAt -d dst -c "SET search_path = ''" -c "SELECT count(*) FROM zerocut.audit_config WHERE relation::text <> format('%I.%I', schema_name, table_name)")
[ "$mismatched" = 0 ] || { echo "restored audit_config rows not naming their tables: $mismatched"; exit 1; }
triggers=$(zc_psql -At -d dst -c "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'zerocut_%' AND tgparentid = 0 AND NOT tgisinternal")
echo "restored triggers: $triggers"
[ "$triggers" = 15 ]  # 3 domain tables x 3, secrets x 4, the log's 2 guards
# Every partition of the log has its TRUNCATE guard again: internal
# triggers, not dumped, made by the event trigger when pg_restore attached
# the partitions (a dumped one would have collided with it).
unguarded=$(zc_psql -At -d dst -c "SELECT count(*) FROM pg_partition_tree('audit_log.system_log') t WHERE t.level > 0 AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = t.relid AND g.tgfoid = 'zerocut.audit_log_guard()'::regprocedure AND g.tgtype = 34)")
echo "restored log partitions without a TRUNCATE guard: $unguarded"
[ "$unguarded" = 0 ]
logged=$(zc_psql -At -d dst -c "SELECT count(*) FROM audit_log.system_log WHERE metadata ->> 'table' = 'secrets'")
[ "$logged" = 1 ]
# Auditing goes on in the restored database, still without the token.
zc_psql -q -d dst -c "UPDATE public.secrets SET token = 'tok-2', name = 'b'"
row=$(zc_psql -At -d dst -c "SELECT metadata -> 'new_data' FROM audit_log.system_log WHERE metadata ->> 'operation' = 'UPDATE'")
echo "restored database logs: $row"
[ "$row" = '{"name": "b", "token": "[redacted]"}' ]
# The append-only guard came back too.
zc_psql -q -d dst -c "CREATE ROLE e2e_reader; GRANT USAGE ON SCHEMA audit_log TO e2e_reader; GRANT DELETE, SELECT, TRUNCATE ON ALL TABLES IN SCHEMA audit_log TO e2e_reader"
if zc_psql -q -d dst -c "SET ROLE e2e_reader" -c "DELETE FROM audit_log.system_log" 2>"$ZC_DIR/guard.err"; then
    echo "the guard let a non-owner delete log rows"; exit 1
fi
grep -q "append-only" "$ZC_DIR/guard.err"
if zc_psql -q -d dst -c "SET ROLE e2e_reader" -c "TRUNCATE audit_log.system_log_default" 2>"$ZC_DIR/guard.err"; then
    echo "the guard let a non-owner truncate a log partition"; exit 1
fi
grep -q "append-only" "$ZC_DIR/guard.err"
zc_check_server_log
echo "ok"
