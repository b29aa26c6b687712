// zerocut.get_workspace_dashboard_stats(p_workspace_id integer,
//                                       p_days integer DEFAULT 30) RETURNS json
//
// The seed's dashboard JSON, built in C++ from two prepared, kept plans:
// one row of workspace facts (active members, active keys, balance) and
// the usage rows of the window (date >= CURRENT_DATE - p_days), read once:
// the totals, the average and the trend all come from that single scan,
// where the seed's function scans the window twice.  Sums are exact and
// every number is written as json_build_object writes the seed's SUM/AVG
// (see src/core/dashboard_json.hpp), so for p_days = 30 the result equals
// the seed's function as jsonb (and as text).  Runs as the caller: the
// queries see what row-level security lets the caller see.
#include <optional>
#include <string>

#include <fmt/format.h>

#include "core/dashboard_json.hpp"
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/values.hpp"

extern "C" {
#include "utils/date.h"
#include "utils/numeric.h"
}

namespace {

constexpr const char* workspace_facts_sql = R"SQL(
SELECT (SELECT pg_catalog.count(*) FROM workspace_domain.user_workspace uw
         WHERE uw.workspace_id = w.id AND uw.status = 'active') AS member_count,
       (SELECT pg_catalog.count(*) FROM api_management.api_key ak
         WHERE ak.workspace_id = w.id AND ak.status = 'active') AS api_key_count,
       (SELECT a.balance FROM financial_management.account a
         WHERE a.workspace_id = w.id) AS current_balance
FROM workspace_domain.workspace w
WHERE w.id = $1
)SQL";

constexpr const char* usage_window_sql = R"SQL(
SELECT us.date, us.api_calls, us.tokens_used, us.cost_amount
FROM data_statistics.usage_stats us
WHERE us.workspace_id = $1 AND us.date >= CURRENT_DATE - $2
ORDER BY us.date
)SQL";

// Column `column` (1-based) of row `row` of the last SPI result.
Datum column_value(uint64 row, int column, bool* is_null)
{
    SPITupleTable* table = SPI_tuptable;
    return zc::pg::guard([=] { return SPI_getbinval(table->vals[row], table->tupdesc, column, is_null); });
}

std::string numeric_text(Datum value)
{
    char* text = zc::pg::guard([=] { return DatumGetCString(DirectFunctionCall1(numeric_out, value)); });
    return std::string(text);
}

// The JSON text; throws P0002 when the workspace does not exist (or the
// caller's row-level security hides it).
std::string dashboard_json(int32 workspace_id, int32 days)
{
    zc::pg::SpiSession spi;
    zc::pg::PinnedSearchPath pinned;
    // The window bound CURRENT_DATE - $2 defeats the planner's generic
    // estimate (a third of the rows), so the plan cache would re-plan every
    // call with a custom plan; the generic plan is the same index scan.
    pinned.set("plan_cache_mode", "force_generic_plan");

    spi.execute_cached(workspace_facts_sql, {zc::pg::int4_param(workspace_id)}, true);
    if (SPI_processed == 0)
        throw zc::Error(zc::sqlstate::no_data_found,
                        fmt::format("workspace {} (argument \"p_workspace_id\") does not exist", workspace_id));
    bool is_null = false;
    int64 member_count = DatumGetInt64(column_value(0, 1, &is_null));
    int64 api_key_count = DatumGetInt64(column_value(0, 2, &is_null));
    Datum balance = column_value(0, 3, &is_null);
    std::string balance_json = is_null ? "null" : zc::core::json_numeric(numeric_text(balance));

    uint64 rows =
        spi.execute_cached(usage_window_sql, {zc::pg::int4_param(workspace_id), zc::pg::int4_param(days)}, true);
    int64 call_sum = 0;
    int64 call_count = 0;
    __int128 token_sum = 0;
    zc::core::NumericSum cost_sum;
    std::string trend;
    for (uint64 row = 0; row < rows; ++row) {
        bool date_null, calls_null, tokens_null, cost_null;
        Datum date = column_value(row, 1, &date_null);
        Datum calls = column_value(row, 2, &calls_null);
        Datum tokens = column_value(row, 3, &tokens_null);
        Datum cost = column_value(row, 4, &cost_null);
        std::string calls_json = "null";
        if (!calls_null) {
            int32 value = DatumGetInt32(calls);
            if (__builtin_add_overflow(call_sum, int64{value}, &call_sum))
                throw zc::Error(zc::sqlstate::numeric_value_out_of_range, "bigint out of range",
                                "the sum of api_calls in the window exceeds bigint, as the seed's SUM would");
            ++call_count;
            calls_json = std::to_string(value);
        }
        if (!tokens_null) token_sum += DatumGetInt64(tokens);
        std::string cost_json = "null";
        if (!cost_null) {
            std::string text = numeric_text(cost);
            cost_sum.add(text);
            cost_json = zc::core::json_numeric(text);
        }
        trend += fmt::format("{}{{\"date\" : {}, \"api_calls\" : {}, \"cost\" : {}}}", row == 0 ? "" : ", ",
                             date_null ? "null" : zc::core::json_date(DatumGetDateADT(date)), calls_json, cost_json);
    }

    // json_build_object's layout, key for key, as the seed builds it.
    return fmt::format(
        "{{\"total_api_calls\" : {}, \"total_tokens_used\" : {}, \"total_cost\" : {}, "
        "\"avg_daily_calls\" : {}, \"member_count\" : {}, \"api_key_count\" : {}, "
        "\"current_balance\" : {}, \"last_30_days_trend\" : {}}}",
        call_sum, zc::core::int128_text(token_sum), zc::core::json_numeric(cost_sum.text()),
        zc::core::integer_average_text(call_sum, call_count), member_count, api_key_count, balance_json,
        rows == 0 ? "null" : "[" + trend + "]");
}

}  // namespace

ZC_FUNCTION(zc_get_workspace_dashboard_stats)
{
    int32 days =
        zc::core::check_dashboard_days(PG_ARGISNULL(1) ? std::nullopt : std::optional<int>(PG_GETARG_INT32(1)));
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    std::string json = dashboard_json(PG_GETARG_INT32(0), days);
    // json is stored as text; built after SPI_finish, in the caller's context.
    return zc::pg::text_datum(json);
}
