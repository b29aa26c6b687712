// zerocut.create_monthly_partition(table_name text, start_date date) RETURNS text
//
// The seed's function, done properly: the partition for the whole month
// containing start_date, named <table>_YYYY_MM in the parent's schema;
// an identical existing partition is returned; rows of that month waiting
// in the default partition are moved into the new one in this transaction.
#include <string>

#include <fmt/format.h>

#include "partition/engine.hpp"
#include "pg/boundary.hpp"
#include "pg/job_lock.hpp"
#include "pg/run_as.hpp"
#include "pg/values.hpp"

extern "C" {
#include "storage/lmgr.h"
#include "utils/date.h"
}

namespace {

namespace core = zc::core;

std::string create_monthly(Oid relid, const core::CivilDate& day)
{
    zc::pg::SpiSession spi;
    zc::partition::EngineSettings settings;
    // docs/partitions.md, "Privileges": the owner (or a superuser), never
    // zerocut's own tables; the partition is made as the owner (engine).
    zc::partition::require_may_manage(relid, "table_name", "given partitions");
    zc::partition::ParentInfo parent = zc::partition::describe_parent(spi, relid, "table_name");
    // A managed parent keeps its stored time zone; others use the GUC's.
    std::optional<std::string> stored;
    {
        zc::pg::AsExtensionOwner as_extension_owner;  // zerocut's own table: the caller needs no grant
        stored = zc::partition::query_value(
            spi,
            "SELECT time_zone FROM zerocut.partition_config WHERE parent = $1::pg_catalog.oid::pg_catalog.regclass",
            {zc::pg::Param{OIDOID, ObjectIdGetDatum(relid), false}});
    }
    std::string time_zone = stored.value_or(zc::partition::configured_time_zone());
    auto periods = zc::partition::period_bounds(spi, parent, time_zone, core::Granularity::month,
                                                {core::period_start(day, core::Granularity::month)});
    // docs/locking.md: the table's job lock first, then the parent.  Rows of
    // the month waiting in the default partition move before the parent's
    // ACCESS EXCLUSIVE lock (prepare_rescue), so writers do not wait for it.
    bool job_locked = zc::pg::lock_table_job_polling(parent.oid, zc::partition::lock_timeout_ms());
    std::optional<zc::partition::PreparedRescue> prepared;
    if (job_locked) prepared = zc::partition::prepare_rescue(spi, parent, periods.at(0));
    if (!job_locked || !zc::partition::lock_relation_polling(parent.oid, AccessExclusiveLock))
        throw zc::Error("55P03",
                        fmt::format("could not lock {} within zerocut.partition_lock_timeout ({} ms)", parent.qualified,
                                    zc::partition::lock_timeout_ms()),
                        "another session is using the table", "Retry later or raise zerocut.partition_lock_timeout.");
    zc::partition::CreateOutcome outcome =
        zc::partition::create_partition(spi, parent, periods.at(0), prepared ? &*prepared : nullptr);
    if (outcome.kind == zc::partition::CreateOutcome::conflict)
        throw zc::Error(outcome.sqlstate ? outcome.sqlstate : "42P17",
                        fmt::format("argument \"start_date\": cannot create partition {} of {}: {}", outcome.partition,
                                    parent.qualified, outcome.detail));
    if (outcome.kind == zc::partition::CreateOutcome::created)
        zc::partition::log_action(spi, {parent.oid, "create", outcome.partition, outcome.detail}, parent.qualified);
    return outcome.partition;
}

}  // namespace

ZC_FUNCTION(zc_create_monthly_partition)
{
    zc::pg::require_arg(fcinfo, 0, "table_name");
    zc::pg::require_arg(fcinfo, 1, "start_date");
    std::string table_name = zc::pg::text_arg(fcinfo, 0);
    DateADT date = PG_GETARG_DATEADT(1);
    if (DATE_NOT_FINITE(date)) throw zc::Error("22008", "argument \"start_date\" must be a finite date");
    core::CivilDate day = core::civil_from_days(static_cast<int64_t>(date) + 10957);  // 2000-01-01 is day 10957
    if (!core::in_supported_range(day))
        throw zc::Error("22008", "argument \"start_date\" must lie in the years 1 to 9998",
                        "got " + core::format_iso_date(day));
    Oid relid = zc::partition::resolve_table_name(table_name, "table_name");  // caller's search_path
    return zc::pg::text_datum(create_monthly(relid, day));
}
