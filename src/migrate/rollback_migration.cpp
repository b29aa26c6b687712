// zerocut.rollback_migration(p_version text) RETURNS boolean
//
// Runs the rollback SQL recorded for an applied migration and removes its
// row from zerocut.migration_versions; true when done.  Unknown version:
// 42704; recorded without rollback SQL (zerocut's own domain steps
// included): 55000.  An error in the rollback SQL undoes the whole call
// (the row stays) and comes out with its own SQLSTATE as
// `rollback of migration "<version>" failed with SQLSTATE <code>: <message>`.
// Serializes with apply_migration() on the ledger's advisory lock.
// Superusers and zerocut's owner only; the rollback SQL runs as the caller.
// (The seed's version declared a variable named like the column it selects,
// rollback_sql, which PL/pgSQL rejects as ambiguous: it never ran.)
#include <optional>
#include <string>

#include "core/errors.hpp"
#include "migrate/migration_ledger.hpp"
#include "pg/boundary.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"

namespace {

void roll_back(const std::string& version)
{
    zc::migrate::lock_migrations();
    zc::pg::SpiSession spi;
    std::optional<std::string> rollback_sql;
    {
        zc::pg::PinnedSearchPath pinned;
        zc::pg::AsExtensionOwner owner;
        // Deleted first: under REPEATABLE READ a concurrent rollback that
        // committed after the caller's snapshot makes this fail with 40001.
        uint64 rows = spi.execute("DELETE FROM zerocut.migration_versions WHERE version = $1 RETURNING rollback_sql",
                                  {zc::pg::text_param(version)});
        if (rows == 0)
            throw zc::Error(zc::sqlstate::undefined_object, "migration \"" + version + "\" is not applied", "",
                            "zerocut.migration_status() lists the applied migrations.");
        rollback_sql = spi.first_text();
    }
    if (!rollback_sql)
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "migration \"" + version + "\" has no rollback SQL",
                        version.starts_with("zerocut.") ? "It is a step of zerocut's own domain schema."
                                                        : "It was applied with p_rollback_sql NULL.",
                        "Write the reverse change as a new migration.");
    zc::migrate::run_caller_sql(spi, *rollback_sql, "rollback of migration \"" + version + "\"");
}

}  // namespace

ZC_FUNCTION(zc_rollback_migration)
{
    const char* function = "zerocut.rollback_migration()";
    zc::migrate::require_migration_role(function);
    std::string version = zc::migrate::version_arg(fcinfo, 0, "p_version", true);
    zc::migrate::refuse_in_recovery(function);
    roll_back(version);
    PG_RETURN_BOOL(true);
}
