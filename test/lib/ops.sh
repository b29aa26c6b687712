# shellcheck shell=bash
# Helpers for the operations e2e tests (test/e2e/ops_*.sh).  Source after
# test/lib/cluster.sh.
#   ops_cluster_start NAME [conf lines...]  a throwaway cluster (zc_cluster_start);
#                                           sets NAME_DIR, NAME_PORT, NAME_DATA
#   ops_psql NAME [psql args...]            psql on it (ON_ERROR_STOP)
#   ops_cleanup                             stops and removes every cluster (trap)
#   ops_state NAME DB                       "table|rows|md5" for every domain table
#                                           and every zerocut configuration table
#   ops_key_file DATA [HEX]                 a root key file DATA/zerocut.key (0600,
#                                           owned by the server's user)

OPS_CLUSTERS=()

ops_cluster_start() {
    local name=$1
    shift
    zc_cluster_start "$@" || return 1
    printf -v "${name}_DIR" '%s' "$ZC_DIR"
    printf -v "${name}_PORT" '%s' "$ZC_PORT"
    printf -v "${name}_DATA" '%s' "$ZC_DATA"
    OPS_CLUSTERS+=("$ZC_DIR")
    ZC_DIR=  # several clusters: ops_cleanup stops them all
}

ops_psql() {
    local dir_var=${1}_DIR port_var=${1}_PORT
    shift
    psql -X -v ON_ERROR_STOP=1 -h "${!dir_var}" -p "${!port_var}" -U postgres "$@"
}

ops_cleanup() {
    local dir data
    for dir in "${OPS_CLUSTERS[@]}"; do
        for data in "$dir"/*/; do
            [ -f "$data/PG_VERSION" ] || continue
            zc_as_owner "$ZC_BINDIR/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
        done
        rm -rf "$dir"
    done
    OPS_CLUSTERS=()
}

# The domain tables of the guide and zerocut's configuration tables: their
# row count and an md5 of their rows (sorted as text).  Read with
# row_security off (a superuser sees every tenant).
OPS_STATE_TABLES=('user_management."USER"' workspace_domain.workspace workspace_domain.user_workspace
    financial_management.account financial_management.consumption_record api_management.api_key
    data_statistics.usage_stats audit_log.system_log archive.consumption_record_archive
    zerocut.partition_config zerocut.archive_policy zerocut.audit_config zerocut.encryption_keys
    zerocut.key_grant zerocut.protected_column zerocut.workspace_isolation)

ops_state() {
    local name=$1 db=$2 tables
    tables=$(printf '%s\n' "${OPS_STATE_TABLES[@]}" | sed "s/'/''/g; s/.*/'&'/" | paste -sd, -)
    ops_psql "$name" -q -At -d "$db" <<SQL
SET row_security = off;
SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(t::text, E''\\n'' ORDER BY t::text), '''')) FROM %s t', r, r)
FROM unnest(ARRAY[$tables]) r WHERE to_regclass(r) IS NOT NULL ORDER BY 1 \gexec
SQL
}

ops_key_file() {
    local data=$1 hex=${2:-}
    [ -n "$hex" ] || hex=$(openssl rand -hex 32)
    (umask 077 && echo "$hex" >"$data/zerocut.key")
    [ "$(id -u)" != 0 ] || chown postgres: "$data/zerocut.key"
    echo "$hex"
}
