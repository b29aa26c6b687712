// zerocut.refresh_analytics_views()
//     RETURNS TABLE(view regclass, duration interval, concurrently boolean)
//
// Refreshes every analytics materialized view: CONCURRENTLY once it is
// populated (readers keep reading; needs the unique index the domain file
// creates), plainly the first time (CONCURRENTLY refuses an unpopulated
// view).  The view is locked (ExclusiveLock, what CONCURRENTLY takes)
// before its state is read, so two refreshers queue instead of racing.
// Logs one row to audit_log.system_log; on a hot standby returns no rows
// with a NOTICE.  Runs as the caller: only the view's owner may refresh it.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "pg/boundary.hpp"
#include "pg/run_as.hpp"
#include "pg/compat.hpp"
#include "pg/spi.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

namespace {

// Every analytics materialized view, in refresh order.
constexpr const char* analytics_views[] = {"data_statistics.mv_workspace_analytics"};

struct Refreshed {
    Oid view;
    std::string name;
    int64 microseconds;
    bool concurrently;
};

Oid locked_view(zc::pg::SpiSession& spi, const char* name)
{
    auto found = spi.query_text(
        "SELECT c.oid FROM pg_catalog.pg_class c "
        "WHERE c.oid = pg_catalog.to_regclass($1) AND c.relkind = 'm'",
        {zc::pg::text_param(name)});
    if (!found)
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        fmt::format("materialized view {} does not exist", name), "",
                        "Run SELECT zerocut.install_domain_schema(); to create the analytics views.");
    Oid view = static_cast<Oid>(std::stoul(*found));
    Oid user = GetUserId();
    bool owner = zc::pg::guard([=] { return zc::pg::owns_relation(view, user); });
    if (!owner)
        throw zc::Error(zc::sqlstate::insufficient_privilege,
                        fmt::format("must be owner of materialized view {} to refresh it", name));
    zc::pg::guard([=] { LockRelationOid(view, ExclusiveLock); });
    return view;
}

std::vector<Refreshed> refresh_all()
{
    zc::pg::SpiSession spi;
    zc::pg::PinnedSearchPath pinned;
    std::vector<Refreshed> done;
    std::string log_views;
    for (const char* name : analytics_views) {
        Oid view = locked_view(spi, name);
        bool populated =
            spi.query_text("SELECT relispopulated FROM pg_catalog.pg_class WHERE oid = $1",
                           {zc::pg::Param{OIDOID, ObjectIdGetDatum(view)}}) == std::optional<std::string>("t");
        std::string qualified = zc::pg::qualified_relation_name(view);
        TimestampTz start = GetCurrentTimestamp();
        {
            // As the view's owner, past the owner's own FORCE ROW LEVEL
            // SECURITY (workspace isolation forces it on every tenant
            // table): the view sums every workspace, as a superuser's
            // refresh would.  REFRESH keeps the flag when it switches.
            zc::pg::AsRole as_owner(zc::pg::relation_owner(view), false, SECURITY_NOFORCE_RLS);
            spi.execute(std::string("REFRESH MATERIALIZED VIEW ") + (populated ? "CONCURRENTLY " : "") + qualified);
        }
        int64 elapsed = GetCurrentTimestamp() - start;
        done.push_back({view, qualified, elapsed, populated});
        log_views += fmt::format("{}{{\"view\": \"{}\", \"concurrently\": {}, \"duration_ms\": {:.3f}}}",
                                 log_views.empty() ? "" : ", ", name, populated, elapsed / 1000.0);
    }
    zc::pg::write_system_log(spi, "INFO", "Refreshed analytics views", "{\"views\": [" + log_views + "]}");
    return done;
}

}  // namespace

ZC_FUNCTION(zc_refresh_analytics_views)
{
    auto* result_info = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    if (result_info == nullptr || !IsA(result_info, ReturnSetInfo))
        throw zc::Error(zc::sqlstate::feature_not_supported,
                        "refresh_analytics_views() must be called where a set is accepted (FROM clause)");
    if (zc::pg::in_recovery()) {
        zc::pg::notice("zerocut: refresh_analytics_views() does nothing on a hot standby; run it on the primary");
        zc::pg::guard([=] { InitMaterializedSRF(fcinfo, 0); });
        return Datum(0);
    }
    std::vector<Refreshed> done = refresh_all();
    // The result rows are made after SPI_finish, in the query's memory.
    zc::pg::guard([=] { InitMaterializedSRF(fcinfo, 0); });
    for (const Refreshed& row : done) {
        Oid view = row.view;
        int64 microseconds = row.microseconds;
        bool concurrently = row.concurrently;
        zc::pg::guard([=] {
            auto* duration = static_cast<Interval*>(palloc0(sizeof(Interval)));
            duration->time = microseconds;
            Datum values[3] = {ObjectIdGetDatum(view), IntervalPGetDatum(duration), BoolGetDatum(concurrently)};
            bool nulls[3] = {false, false, false};
            tuplestore_putvalues(result_info->setResult, result_info->setDesc, values, nulls);
        });
    }
    return Datum(0);
}
