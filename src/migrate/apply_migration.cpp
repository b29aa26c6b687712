// zerocut.apply_migration(p_version text, p_description text,
//                         p_migration_sql text, p_rollback_sql text) RETURNS boolean
//
// The seed's contract, without its defects (docs/migrations.md):
//  - true once the migration SQL has run and the version is recorded in
//    zerocut.migration_versions with the SQL's checksum;
//  - false with a NOTICE when that version is applied already with the same
//    SQL (line endings aside); an ERROR (55000, both checksums) when it was
//    applied with other SQL;
//  - callers serialize on the ledger's advisory lock (transaction-scoped):
//    a second caller of the same version waits, then returns false;
//  - any error rolls back everything the migration did, and its ledger
//    row, and comes out with its own SQLSTATE as
//    `migration "<version>" failed with SQLSTATE <code>: <message>`.
// Superusers and zerocut's owner only.  The migration runs as the caller,
// with the caller's search_path; the ledger is written as zerocut's owner.
#include <optional>
#include <string>

#include "core/errors.hpp"
#include "migrate/migration_ledger.hpp"
#include "pg/boundary.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "utils/timestamp.h"
}

namespace {

struct Migration {
    std::string version;
    std::optional<std::string> description;
    std::string sql;
    std::optional<std::string> rollback_sql;
};

zc::pg::Param optional_text(const std::optional<std::string>& value)
{
    if (!value) return zc::pg::Param{TEXTOID, (Datum)0, true};
    return zc::pg::text_param(*value);
}

// Returns whether the migration ran (false: applied before, same SQL).
bool apply(const Migration& migration)
{
    std::string checksum = zc::migrate::migration_checksum(migration.sql);
    std::string caller = zc::migrate::current_user_name();
    zc::migrate::lock_migrations();
    TimestampTz started = GetCurrentTimestamp();
    zc::pg::SpiSession spi;
    std::optional<std::string> applied_checksum;
    {
        zc::pg::PinnedSearchPath pinned;
        zc::pg::AsExtensionOwner owner;
        // The row first, as a claim: under REPEATABLE READ or SERIALIZABLE a
        // row committed after the caller's snapshot makes this fail with
        // 40001 (retry) before the migration runs.  Under READ COMMITTED
        // the lock above makes any committed row visible here.
        spi.execute(
            "INSERT INTO zerocut.migration_versions (version, description, checksum, applied_at, applied_by, "
            "rollback_sql) VALUES ($1, $2, $3, $4, $5::pg_catalog.name, $6)"
            " ON CONFLICT (version) DO NOTHING RETURNING version",
            {zc::pg::text_param(migration.version), optional_text(migration.description), zc::pg::text_param(checksum),
             zc::pg::Param{TIMESTAMPTZOID, TimestampTzGetDatum(started)}, zc::pg::text_param(caller),
             optional_text(migration.rollback_sql)});
        if (!spi.first_text()) {
            applied_checksum = spi.query_text("SELECT checksum FROM zerocut.migration_versions WHERE version = $1",
                                              {zc::pg::text_param(migration.version)});
            if (!applied_checksum)
                throw zc::Error("40001", "migration \"" + migration.version + "\" changed while it was looked up", "",
                                "Run apply_migration() again.");
        }
    }
    if (applied_checksum) {
        if (*applied_checksum == checksum) {
            zc::pg::notice("migration \"" + migration.version + "\" is already applied, skipping");
            return false;
        }
        throw zc::Error(
            zc::sqlstate::object_not_in_prerequisite_state,
            "migration \"" + migration.version + "\" is already applied with different SQL",
            "The ledger's checksum is " + *applied_checksum + "; p_migration_sql has checksum " + checksum + ".",
            "An applied migration must not change: give the change a new version, or roll this one "
            "back first with zerocut.rollback_migration().");
    }
    zc::migrate::run_caller_sql(spi, migration.sql, "migration \"" + migration.version + "\"");
    int64 elapsed_us = GetCurrentTimestamp() - started;
    zc::pg::PinnedSearchPath pinned;
    zc::pg::AsExtensionOwner owner;
    spi.execute(
        "UPDATE zerocut.migration_versions"
        " SET duration = $2::pg_catalog.float8 * '1 microsecond'::pg_catalog.interval WHERE version = $1",
        {zc::pg::text_param(migration.version), zc::pg::int8_param(elapsed_us)});
    return true;
}

}  // namespace

ZC_FUNCTION(zc_apply_migration)
{
    const char* function = "zerocut.apply_migration()";
    zc::migrate::require_migration_role(function);
    Migration migration;
    migration.version = zc::migrate::version_arg(fcinfo, 0, "p_version", false);
    if (!PG_ARGISNULL(1)) migration.description = zc::pg::text_arg(fcinfo, 1);
    migration.sql = *zc::migrate::sql_arg(fcinfo, 2, "p_migration_sql", false);
    migration.rollback_sql = zc::migrate::sql_arg(fcinfo, 3, "p_rollback_sql", true);
    zc::migrate::refuse_in_recovery(function);
    PG_RETURN_BOOL(apply(migration));
}
