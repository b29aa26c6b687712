// zerocut.manage_partitions(parent regclass, control_column name,
//     granularity text DEFAULT 'month', premake integer DEFAULT 3,
//     retention interval DEFAULT NULL, retention_action text DEFAULT 'detach',
//     start_date date DEFAULT NULL) RETURNS void
//
// Registers a RANGE-partitioned parent in zerocut.partition_config (kept by
// pg_dump) and creates its default partition and every partition from the
// start (given, the oldest row's, or today's) through now + premake, moving
// rows out of the default partition.  Registering again updates the
// settings but keeps the stored time zone; it changes nothing else.
#include <string>

#include <fmt/format.h>

#include "partition/engine.hpp"
#include "pg/boundary.hpp"
#include "pg/values.hpp"

extern "C" {
#include "storage/lmgr.h"
#include "utils/date.h"
}

namespace {

namespace core = zc::core;
using zc::Error;

struct Request {
    Oid parent = InvalidOid;
    std::string control_column;
    core::Granularity granularity = core::Granularity::month;
    int premake = 3;
    bool has_retention = false;
    Datum retention = 0;
    core::RetentionAction retention_action = core::RetentionAction::detach;
    std::optional<core::CivilDate> start_date;
};

Request read_request(FunctionCallInfo fcinfo)
{
    const char* names[] = {"parent", "control_column", "granularity", "premake", nullptr, "retention_action"};
    for (int i = 0; i < 6; ++i)
        if (names[i]) zc::pg::require_arg(fcinfo, i, names[i]);
    Request request;
    request.parent = PG_GETARG_OID(0);
    request.control_column = NameStr(*PG_GETARG_NAME(1));
    std::string granularity = zc::pg::text_arg(fcinfo, 2);
    auto parsed = core::parse_granularity(granularity);
    if (!parsed)
        throw Error(
            zc::sqlstate::invalid_parameter_value,
            fmt::format("argument \"granularity\" must be day, week, month, quarter or year, not \"{}\"", granularity));
    request.granularity = *parsed;
    request.premake = PG_GETARG_INT32(3);
    if (request.premake < 0 || request.premake > 1000)
        throw Error(zc::sqlstate::numeric_value_out_of_range,
                    fmt::format("argument \"premake\" must be between 0 and 1000, not {}", request.premake));
    request.has_retention = !PG_ARGISNULL(4);
    if (request.has_retention) request.retention = PG_GETARG_DATUM(4);
    std::string action = zc::pg::text_arg(fcinfo, 5);
    auto parsed_action = core::parse_retention_action(action);
    if (!parsed_action)
        throw Error(zc::sqlstate::invalid_parameter_value,
                    fmt::format("argument \"retention_action\" must be detach, drop or archive, not \"{}\"", action));
    request.retention_action = *parsed_action;
    if (!PG_ARGISNULL(6)) {
        DateADT date = PG_GETARG_DATEADT(6);
        if (DATE_NOT_FINITE(date)) throw Error("22008", "argument \"start_date\" must be a finite date");
        core::CivilDate day = core::civil_from_days(static_cast<int64_t>(date) + 10957);
        if (!core::in_supported_range(day))
            throw Error("22008", "argument \"start_date\" must lie in the years 1 to 9998",
                        "got " + core::format_iso_date(day));
        request.start_date = day;
    }
    return request;
}

void manage(const Request& request)
{
    zc::pg::SpiSession spi;
    zc::partition::EngineSettings settings;
    zc::partition::ParentInfo parent = zc::partition::describe_parent(spi, request.parent, "parent");
    if (request.control_column != parent.column)
        throw Error(zc::sqlstate::invalid_parameter_value,
                    fmt::format("argument \"control_column\": \"{}\" is not the partition key of {}",
                                request.control_column, parent.qualified),
                    fmt::format("{} is partitioned on \"{}\"", parent.qualified, parent.column));
    zc::pg::Param retention{INTERVALOID, request.retention, !request.has_retention};
    if (request.has_retention) {
        auto positive = zc::partition::query_value(spi, "SELECT $1 > pg_catalog.interval '0'", {retention});
        if (positive != std::optional<std::string>("t"))
            throw Error(zc::sqlstate::invalid_parameter_value, "argument \"retention\" must be a positive interval");
    }
    std::string time_zone = zc::partition::configured_time_zone();
    // Where the first partition starts: the argument, the oldest row, or today.
    std::optional<core::CivilDate> from = request.start_date;
    if (!from) {
        std::string column = zc::pg::quote_ident(parent.column);
        std::string local = parent.type == TIMESTAMPTZOID ? fmt::format("(min({}) AT TIME ZONE $1)", column)
                                                          : fmt::format("min({})", column);
        auto oldest =
            zc::partition::query_value(spi, fmt::format("SELECT {}::pg_catalog.date FROM {}", local, parent.qualified),
                                       {zc::pg::text_param(time_zone)});
        if (oldest) {
            from = core::parse_iso_date(*oldest);
            if (!from)
                throw Error("22008", "the oldest row of " + parent.qualified + " lies outside the years 1 to 9998");
        }
    }
    if (!zc::partition::lock_relation_polling(parent.oid, AccessExclusiveLock))
        throw Error("55P03",
                    fmt::format("could not lock {} within zerocut.partition_lock_timeout ({} ms)", parent.qualified,
                                zc::partition::lock_timeout_ms()),
                    "another session is using the table", "Retry later or raise zerocut.partition_lock_timeout.");
    spi.execute(
        "INSERT INTO zerocut.partition_config AS c (parent, control_column, granularity, premake, retention, "
        "retention_action, time_zone, start_date) "
        "VALUES ($1::pg_catalog.oid::pg_catalog.regclass, $2, $3, $4, $5, $6, $7, $8::pg_catalog.date) "
        "ON CONFLICT (parent) DO UPDATE SET control_column = EXCLUDED.control_column, "
        "granularity = EXCLUDED.granularity, premake = EXCLUDED.premake, retention = EXCLUDED.retention, "
        "retention_action = EXCLUDED.retention_action, start_date = EXCLUDED.start_date "
        "WHERE (c.control_column, c.granularity, c.premake, c.retention, c.retention_action, c.start_date) "
        "IS DISTINCT FROM (EXCLUDED.control_column, EXCLUDED.granularity, EXCLUDED.premake, EXCLUDED.retention, "
        "EXCLUDED.retention_action, EXCLUDED.start_date)",
        {zc::pg::Param{OIDOID, ObjectIdGetDatum(parent.oid), false}, zc::pg::text_param(parent.column),
         zc::pg::text_param(core::granularity_name(request.granularity)), zc::pg::int4_param(request.premake),
         retention, zc::pg::text_param(core::retention_action_name(request.retention_action)),
         zc::pg::text_param(time_zone),
         request.start_date ? zc::pg::text_param(core::format_iso_date(*request.start_date))
                            : zc::pg::Param{TEXTOID, 0, true}});
    auto actions = zc::partition::maintain(spi, zc::partition::MaintainOptions{parent.oid, false, from});
    for (const auto& action : actions)
        if (action.action == "skip") throw Error("55P03", "could not register " + parent.qualified, action.detail);
}

}  // namespace

ZC_FUNCTION(zc_manage_partitions)
{
    Request request = read_request(fcinfo);
    manage(request);
    PG_RETURN_VOID();
}
