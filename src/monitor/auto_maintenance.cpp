// zerocut.auto_maintenance(min_change_ratio real DEFAULT 0.1)
//     RETURNS TABLE(tbl regclass, action text, rows_changed bigint, duration interval)
//
// ANALYZEs the domain tables whose rows changed enough since their last
// analyze, instead of the seed's ANALYZE of every table with one log row
// each (docs/jobs.md):
//  - a table or partition: pg_stat n_mod_since_analyze against reltuples;
//  - a partitioned table (autovacuum never analyzes one): the changes of its
//    partitions not yet analyzed, or the difference between their live rows
//    and the parent's reltuples, whichever is larger.  Its ANALYZE covers
//    its partitions too (PostgreSQL before 18 has no ANALYZE ONLY), so they
//    get no ANALYZE of their own.
// A table qualifies when rows_changed > 0 and rows_changed > ratio ×
// reltuples.  Rights are core's: a table the caller may not ANALYZE is left
// out (one NOTICE names them), and ANALYZE itself works as the table's owner
// under SECURITY_RESTRICTED_OPERATION.  A table whose lock is taken is
// skipped, not waited for; a failing ANALYZE is rolled back and reported.
// One summary row goes to audit_log.system_log.  On a hot standby: no rows
// and a NOTICE.
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/json.hpp"
#include "pg/boundary.hpp"
#include "pg/compat.hpp"
#include "pg/spi.hpp"
#include "pg/subtransaction.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "funcapi.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

namespace {

// The schemas install_domain_schema() makes (GUIDE section 1).
constexpr const char* domain_schemas =
    "{user_management,workspace_domain,financial_management,api_management,data_statistics,audit_log,archive}";

// Every domain table (partitions included, wherever they live) that changed
// enough; partitions of a chosen partitioned table are left out (its ANALYZE
// covers them).  $1 the schemas, $2 the ratio.
constexpr const char* candidates_sql = R"sql(
WITH domain AS (
    SELECT c.oid
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.name[])
      AND c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
), members AS (
    SELECT oid FROM domain
    UNION
    SELECT t.relid FROM domain d, pg_catalog.pg_partition_tree(d.oid) t
), measured AS (
    SELECT c.oid, c.relkind, c.relispartition, c.reltuples,
           CASE WHEN c.relkind = 'r' THEN pg_catalog.pg_stat_get_mod_since_analyze(c.oid)
                ELSE (SELECT greatest(
                                 pg_catalog.sum(pg_catalog.pg_stat_get_mod_since_analyze(l.relid)),
                                 CASE WHEN c.reltuples < 0
                                      THEN pg_catalog.sum(pg_catalog.pg_stat_get_live_tuples(l.relid))
                                      ELSE pg_catalog.abs(pg_catalog.sum(pg_catalog.pg_stat_get_live_tuples(l.relid))
                                                          - c.reltuples::pg_catalog.numeric) END)
                      FROM pg_catalog.pg_partition_tree(c.oid) l WHERE l.isleaf)
           END AS rows_changed
    FROM members m
    JOIN pg_catalog.pg_class c ON c.oid = m.oid
    WHERE c.relkind = 'r' OR NOT c.relispartition
), chosen AS (
    SELECT oid, relkind, relispartition, pg_catalog.round(rows_changed)::pg_catalog.int8 AS rows_changed
    FROM measured
    WHERE rows_changed > 0
      AND rows_changed > $2 * greatest(reltuples, 0)::pg_catalog.float8
)
SELECT c.oid, c.relkind = 'p', c.rows_changed, k.relisshared
FROM chosen c
JOIN pg_catalog.pg_class k ON k.oid = c.oid
WHERE NOT (c.relispartition AND pg_catalog.pg_partition_root(c.oid) IN (SELECT oid FROM chosen WHERE relkind = 'p'))
ORDER BY c.relkind = 'p' DESC, c.oid
)sql";

struct Outcome {
    Oid relid;
    std::string action;
    int64 rows_changed;
    int64 microseconds;
};

struct Run {
    std::vector<Outcome> outcomes;
    std::vector<std::string> not_permitted;
};

Run maintain(float ratio)
{
    zc::pg::SpiSession spi;
    zc::pg::PinnedSearchPath pinned;
    // The planner's guesses for pg_partition_tree() make the query look
    // costly enough for JIT, whose compiling took ~0.7 s of a ~20 ms query.
    pinned.set("jit", "off");
    TimestampTz run_start = zc::pg::guard([] { return GetCurrentTimestamp(); });
    // The counters as they are now, not as an earlier query of this
    // transaction saw them.
    spi.execute("SELECT pg_catalog.pg_stat_clear_snapshot()");
    spi.execute(candidates_sql, {zc::pg::text_param(domain_schemas),
                                 zc::pg::Param{FLOAT8OID, Float8GetDatum(static_cast<double>(ratio)), false}});
    auto rows = spi.rows_text();

    Run run;
    std::string analyzed_json;
    std::string skipped_json;
    int failures = 0;
    Oid user = GetUserId();
    for (const auto& row : rows) {
        Oid relid = static_cast<Oid>(std::stoul(row.at(0).value()));
        bool with_partitions = row.at(1) == std::optional<std::string>("t");
        int64 rows_changed = std::stoll(row.at(2).value());
        bool shared = row.at(3) == std::optional<std::string>("t");
        if (!zc::pg::guard([=] { return SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)); })) continue;
        std::string name = zc::pg::qualified_relation_name(relid);
        if (!zc::pg::guard([=] { return zc::pg::may_analyze_relation(relid, shared, user); })) {
            run.not_permitted.push_back(name);
            continue;
        }
        Outcome outcome{relid, "", rows_changed, 0};
        bool locked = zc::pg::guard([=] { return ConditionalLockRelationOid(relid, ShareUpdateExclusiveLock); });
        if (!locked) {
            outcome.action = "skipped: locked by another session";
        } else if (!zc::pg::guard([=] { return SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)); })) {
            continue;  // dropped while we waited for nothing: gone, nothing to analyze
        } else {
            TimestampTz start = zc::pg::guard([] { return GetCurrentTimestamp(); });
            auto failure = zc::pg::in_subtransaction([&] { spi.execute("ANALYZE " + name); });
            outcome.microseconds = zc::pg::guard([] { return GetCurrentTimestamp(); }) - start;
            if (failure) {
                outcome.action = "failed: " + *failure;
                ++failures;
            } else {
                outcome.action = with_partitions ? "analyzed with its partitions" : "analyzed";
            }
        }
        std::string& list = outcome.action.starts_with("analyzed") ? analyzed_json : skipped_json;
        list += fmt::format("{}{{\"table\": {}, \"action\": {}, \"rows_changed\": {}, \"duration_ms\": {:.3f}}}",
                            list.empty() ? "" : ", ", zc::core::json_string(name),
                            zc::core::json_string(outcome.action), rows_changed, outcome.microseconds / 1000.0);
        run.outcomes.push_back(std::move(outcome));
    }

    std::string not_permitted_json;
    for (const std::string& name : run.not_permitted)
        not_permitted_json += (not_permitted_json.empty() ? "" : ", ") + zc::core::json_string(name);
    int64 elapsed = zc::pg::guard([] { return GetCurrentTimestamp(); }) - run_start;
    int analyzed = 0;
    for (const Outcome& outcome : run.outcomes) analyzed += outcome.action.starts_with("analyzed") ? 1 : 0;
    zc::pg::write_system_log(
        spi, failures > 0 ? "WARNING" : "INFO",
        fmt::format("Auto maintenance: analyzed {} of {} changed domain tables", analyzed,
                    run.outcomes.size() + run.not_permitted.size()),
        fmt::format("{{\"capability\": \"auto_maintenance\", \"min_change_ratio\": {}, \"analyzed\": [{}], "
                    "\"skipped\": [{}], \"not_permitted\": [{}], \"duration_ms\": {:.3f}}}",
                    ratio, analyzed_json, skipped_json, not_permitted_json, elapsed / 1000.0));
    return run;
}

}  // namespace

ZC_FUNCTION(zc_auto_maintenance)
{
    auto* result_info = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    if (result_info == nullptr || !IsA(result_info, ReturnSetInfo))
        throw zc::Error(zc::sqlstate::feature_not_supported,
                        "auto_maintenance() must be called where a set is accepted (FROM clause)");
    zc::pg::require_arg(fcinfo, 0, "min_change_ratio");
    float ratio = PG_GETARG_FLOAT4(0);
    if (!std::isfinite(ratio) || ratio < 0 || ratio > 1e6)
        throw zc::Error(zc::sqlstate::invalid_parameter_value,
                        fmt::format("argument \"min_change_ratio\" must be between 0 and 1000000, not {}", ratio),
                        "It is the share of a table's rows that must have changed since its last ANALYZE: 0.1 "
                        "analyzes a table once a tenth of its rows changed; 0 analyzes every changed table.");
    Run run;
    if (zc::pg::in_recovery())
        zc::pg::notice("zerocut: auto_maintenance() does nothing on a hot standby; run it on the primary");
    else
        run = maintain(ratio);
    if (!run.not_permitted.empty()) {
        std::string names;
        for (size_t i = 0; i < run.not_permitted.size() && i < 10; ++i)
            names += (i == 0 ? "" : ", ") + run.not_permitted[i];
        if (run.not_permitted.size() > 10) names += fmt::format(" and {} more", run.not_permitted.size() - 10);
        zc::pg::notice(
            fmt::format("zerocut: auto_maintenance() left out {} changed tables the current user may not "
                        "ANALYZE: {}",
                        run.not_permitted.size(), names));
    }
    // The result rows are made after SPI_finish, in the query's memory.
    zc::pg::guard([=] { InitMaterializedSRF(fcinfo, 0); });
    for (const Outcome& outcome : run.outcomes) {
        Oid relid = outcome.relid;
        int64 rows_changed = outcome.rows_changed;
        int64 microseconds = outcome.microseconds;
        Datum action = zc::pg::text_datum(outcome.action);
        zc::pg::guard([=] {
            auto* duration = static_cast<Interval*>(palloc0(sizeof(Interval)));
            duration->time = microseconds;
            Datum values[4] = {ObjectIdGetDatum(relid), action, Int64GetDatum(rows_changed),
                               IntervalPGetDatum(duration)};
            bool nulls[4] = {false, false, false, false};
            tuplestore_putvalues(result_info->setResult, result_info->setDesc, values, nulls);
        });
    }
    return Datum(0);
}
