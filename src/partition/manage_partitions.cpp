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
#include <optional>
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
    // docs/partitions.md, "Privileges": the owner (or a superuser), never
    // zerocut's own tables.
    zc::partition::require_may_manage(request.parent, "parent", "managed");
    zc::partition::ParentInfo parent = zc::partition::describe_parent(spi, request.parent, "parent");
    if (request.control_column != parent.column)
        throw Error(zc::sqlstate::invalid_parameter_value,
                    fmt::format("argument \"control_column\": \"{}\" is not the partition key of {}",
                                request.control_column, parent.qualified),
                    fmt::format("{} is partitioned on \"{}\"", parent.qualified, parent.column));
    // docs/locking.md: the table's job lock first, then the parent; both
    // before the settings are checked against the archive policy (which
    // set_archive_policy changes under the same job lock) and before the
    // oldest row is read.
    if (!zc::pg::lock_table_job_polling(parent.oid, zc::partition::lock_timeout_ms()) ||
        !zc::partition::lock_relation_polling(parent.oid, AccessExclusiveLock))
        throw Error("55P03",
                    fmt::format("could not lock {} within zerocut.partition_lock_timeout ({} ms)", parent.qualified,
                                zc::partition::lock_timeout_ms()),
                    "another session is using the table", "Retry later or raise zerocut.partition_lock_timeout.");
    zc::pg::Param retention{INTERVALOID, request.retention, !request.has_retention};
    // What is registered already (a second call updates the settings).
    zc::pg::Param oid{OIDOID, ObjectIdGetDatum(parent.oid), false};
    std::vector<std::vector<std::optional<std::string>>> registered;
    {
        zc::pg::AsExtensionOwner as_extension_owner;  // zerocut's own table: the caller needs no grant
        spi.execute("SELECT granularity, time_zone FROM zerocut.partition_config WHERE parent::pg_catalog.oid = $1",
                    {oid});
        registered = spi.rows_text();
    }
    std::optional<std::string> old_granularity;
    std::string time_zone = zc::partition::configured_time_zone();
    if (!registered.empty()) {
        old_granularity = registered[0][0];
        time_zone = registered[0][1].value_or(time_zone);  // a registered parent keeps its zone
    }
    if (request.has_retention) {
        // Positive, every part non-negative (IntervalStyle is pinned to
        // postgres: a negative part prints a '-'), at most 1000 years (so
        // now() - retention is a date every run can compute).
        auto sane =
            zc::partition::query_value(spi,
                                       "SELECT $1 > pg_catalog.interval '0' AND $1 <= pg_catalog.interval '1000 years' "
                                       "AND pg_catalog.strpos($1::pg_catalog.text, '-') = 0",
                                       {retention});
        if (sane != std::optional<std::string>("t"))
            throw Error(zc::sqlstate::invalid_parameter_value,
                        "argument \"retention\" must be a positive interval of at most 1000 years without negative "
                        "parts");
        // Partitions must not leave the table before the archive policy may
        // move their rows (docs/partitions.md, "Retention and the archive
        // policy"): on today's UTC date D, D - retention <= D - keep - margin,
        // margin 0 for a zone at UTC's offset all year, else 1 day.
        std::optional<zc::pg::AsExtensionOwner> as_extension_owner(std::in_place);  // reads zerocut.archive_policy
        spi.execute(
            "SELECT p.keep::pg_catalog.text, m.margin::pg_catalog.text, "
            "       (x.d - $1::pg_catalog.interval) > (x.d - p.keep - m.margin) "
            "FROM zerocut.archive_policy p, "
            "     (SELECT (pg_catalog.now() AT TIME ZONE 'UTC')::pg_catalog.date::pg_catalog.timestamp AS d, "
            "             (pg_catalog.now() AT TIME ZONE $2) = (pg_catalog.now() AT TIME ZONE 'UTC') "
            "             AND ((pg_catalog.now() + pg_catalog.interval '6 months') AT TIME ZONE $2) "
            "               = ((pg_catalog.now() + pg_catalog.interval '6 months') AT TIME ZONE 'UTC') AS utc) x, "
            // A time of day in either interval moves the cutoffs off
            // midnight: a day's margin then too.
            "     LATERAL (SELECT CASE WHEN x.utc AND (x.d - $1::pg_catalog.interval)::pg_catalog.time = '00:00' "
            "                           AND (x.d - p.keep)::pg_catalog.time = '00:00' "
            "                      THEN pg_catalog.interval '0' ELSE pg_catalog.interval '1 day' END AS margin) m "
            "WHERE (p.source_schema, p.source_table) = (SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $3)",
            {retention, zc::pg::text_param(time_zone), oid});
        auto keep = spi.rows_text();
        as_extension_owner.reset();
        if (!keep.empty() && keep[0][2] == std::optional<std::string>("t")) {
            std::string keep_text = keep[0][0].value_or("?");
            bool utc = keep[0][1] == std::optional<std::string>("00:00:00");
            throw Error(zc::sqlstate::invalid_parameter_value,
                        fmt::format("argument \"retention\" is shorter than the archive policy's keep ({}{}) of {}",
                                    keep_text, utc ? "" : " plus 1 day", parent.qualified),
                        fmt::format("Partitions older than the retention would leave {} before zerocut.archive() may "
                                    "move their rows (compared on today's UTC date{}).",
                                    parent.qualified,
                                    utc ? ""
                                        : "; one more day is needed when the partition time zone (" + time_zone +
                                              ") is not UTC all year or an interval has a time of day"),
                        "Choose a longer retention, or shorten the keep with zerocut.set_archive_policy().");
        }
    }
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
    std::optional<zc::pg::AsExtensionOwner> as_extension_owner(std::in_place);
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
    as_extension_owner.reset();
    auto actions = zc::partition::maintain(spi, zc::partition::MaintainOptions{parent.oid, false, from});
    for (const auto& action : actions)
        if (action.action == "skip") throw Error("55P03", "could not register " + parent.qualified, action.detail);
    // A new granularity whose periods overlap the existing partitions would
    // log a conflict on every run: refuse it (this call changes nothing).
    std::string new_granularity = core::granularity_name(request.granularity);
    if (old_granularity && *old_granularity != new_granularity)
        for (const auto& action : actions)
            if (action.action == "conflict" && action.detail.find("overlaps existing partition") != std::string::npos)
                throw Error(
                    zc::sqlstate::feature_not_supported,
                    fmt::format("argument \"granularity\": cannot change {} from {} to {}: {} {}", parent.qualified,
                                *old_granularity, new_granularity, action.partition, action.detail),
                    "zerocut does not merge or split existing partitions.",
                    fmt::format("Keep granularity => '{}', or detach or drop the partitions that overlap "
                                "the new periods first.",
                                *old_granularity));
}

}  // namespace

ZC_FUNCTION(zc_manage_partitions)
{
    Request request = read_request(fcinfo);
    manage(request);
    PG_RETURN_VOID();
}
