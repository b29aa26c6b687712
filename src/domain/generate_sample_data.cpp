// zerocut.generate_sample_data(workspaces integer DEFAULT 100,
//                              days integer DEFAULT 400,
//                              seed integer DEFAULT 42) RETURNS jsonb
//
// Fills the empty domain tables with deterministic data: the same arguments
// on the same CURRENT_DATE give the same rows.  Values come from
// zerocut.sample_hash(key, seed) (hashint8extended), never random(), so the
// plan's shape cannot change them.  Per workspace: 3 members (owner, admin,
// member), 2 API keys, one account, one usage row per day and 5 consumption
// records per day over the window ending today.
#include <optional>
#include <string>

#include <fmt/format.h>

#include "core/sample_data.hpp"
#include "partition/engine.hpp"
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/values.hpp"

extern "C" {
#include "utils/jsonb.h"
}

namespace {

// $1 = workspaces, $2 = days, $3 = seed in every statement.
constexpr const char* insert_users = R"SQL(
INSERT INTO user_management."USER"
    (id, email, password_hash, username, phone, email_verified, phone_verified, status,
     last_login_at, created_at, updated_at, timezone, language, preferences)
SELECT u,
       'user' || u || '@example.com',
       'scrypt$' || md5($3 || ':' || u),
       'user_' || u,
       '+8613' || lpad((zerocut.sample_hash(u * 16 + 1, $3) % 1000000000)::text, 9, '0'),
       zerocut.sample_hash(u * 16 + 2, $3) % 10 < 9,
       zerocut.sample_hash(u * 16 + 3, $3) % 10 < 6,
       (CASE WHEN zerocut.sample_hash(u * 16 + 4, $3) % 100 < 95 THEN 'active' ELSE 'inactive' END)
           ::user_management.user_status,
       now() - make_interval(secs => zerocut.sample_hash(u * 16 + 5, $3) % (86400 * 30)),
       now() - make_interval(days => $2 + zerocut.sample_hash(u * 16 + 6, $3) % 60),
       now() - make_interval(days => zerocut.sample_hash(u * 16 + 7, $3) % 30),
       (ARRAY['UTC', 'Asia/Shanghai', 'Europe/Berlin', 'America/New_York'])[1 + zerocut.sample_hash(u * 16 + 8, $3) % 4],
       (ARRAY['zh-CN', 'en-US'])[1 + zerocut.sample_hash(u * 16 + 9, $3) % 2],
       jsonb_build_object('theme', (ARRAY['light', 'dark'])[1 + zerocut.sample_hash(u * 16 + 10, $3) % 2])
FROM generate_series(1, 3 * $1) AS u
)SQL";

constexpr const char* insert_workspaces = R"SQL(
INSERT INTO workspace_domain.workspace (id, name, code, description, owner_id, status, created_at)
SELECT w,
       'Workspace ' || w,
       'ws-' || lpad(w::text, 6, '0'),
       'Sample workspace ' || w,
       3 * w - 2,
       CASE WHEN zerocut.sample_hash(w * 16 + 11, $3) % 100 < 97 THEN 'active' ELSE 'inactive' END,
       now() - make_interval(days => $2 + zerocut.sample_hash(w * 16 + 12, $3) % 30)
FROM generate_series(1, $1) AS w
)SQL";

constexpr const char* insert_memberships = R"SQL(
INSERT INTO workspace_domain.user_workspace (id, user_id, workspace_id, role, is_owner, status, joined_at)
SELECT 3 * w - 2 + j, 3 * w - 2 + j, w,
       (ARRAY['owner', 'admin', 'member'])[j + 1],
       j = 0,
       CASE WHEN j = 0 OR zerocut.sample_hash((3 * w + j) * 16 + 13, $3) % 10 < 9 THEN 'active' ELSE 'inactive' END,
       now() - make_interval(days => $2 - j)
FROM generate_series(1, $1) AS w, generate_series(0, 2) AS j
)SQL";

constexpr const char* insert_api_keys = R"SQL(
INSERT INTO api_management.api_key (id, workspace_id, user_id, name, key_prefix, key_hash, status, last_used_at)
SELECT 2 * w - 1 + j, w, 3 * w - 2, 'key ' || (j + 1),
       'zc_' || substr(md5($3 || ':key:' || w || ':' || j), 1, 8),
       encode(sha256(convert_to($3 || ':key:' || w || ':' || j, 'UTF8')), 'hex'),
       CASE WHEN j = 0 OR zerocut.sample_hash((2 * w + j) * 16 + 14, $3) % 10 < 7 THEN 'active' ELSE 'revoked' END,
       now() - make_interval(hours => zerocut.sample_hash((2 * w + j) * 16 + 15, $3) % 240)
FROM generate_series(1, $1) AS w, generate_series(0, 1) AS j
)SQL";

constexpr const char* insert_accounts = R"SQL(
INSERT INTO financial_management.account (id, workspace_id, balance, credit_limit, currency)
SELECT w, w, (zerocut.sample_hash(w * 16 + 16, $3) % 10000000) / 100.0, 1000.00, 'CNY'
FROM generate_series(1, $1) AS w
)SQL";

constexpr const char* insert_usage = R"SQL(
INSERT INTO data_statistics.usage_stats (workspace_id, date, api_calls, tokens_used, cost_amount, created_at, updated_at)
SELECT w, day, calls, tokens, round(tokens * 0.00002, 2), day + time '23:59', day + time '23:59'
FROM (
    SELECT w, (CURRENT_DATE - d) AS day,
           zerocut.sample_hash((w::bigint * 4000 + d) * 4 + 1, $3) % 5000 AS calls,
           (zerocut.sample_hash((w::bigint * 4000 + d) * 4 + 1, $3) % 5000)::bigint
               * (50 + zerocut.sample_hash((w::bigint * 4000 + d) * 4 + 2, $3) % 950) AS tokens
    FROM generate_series($2 - 1, 0, -1) AS d, generate_series(1, $1) AS w
) AS daily
)SQL";

constexpr const char* insert_consumption = R"SQL(
INSERT INTO financial_management.consumption_record
    (workspace_id, user_id, api_key_id, amount, tokens_used, model, description, created_at)
SELECT w, 3 * w - 2 + h % 3, 2 * w - 1,
       CASE WHEN h % 100 < 3 THEN 0 ELSE round((h % 100000) / 10000.0, 4) END,
       h % 20000,
       (ARRAY['gpt-4o', 'claude-3-5', 'qwen-max', 'deepseek-v3'])[1 + h % 4],
       'API usage',
       (CURRENT_DATE - d) + make_interval(secs => zerocut.sample_hash(k * 2 + 1, $3) % 86400)
FROM (
    SELECT w, d, k, zerocut.sample_hash(k * 2, $3) AS h
    FROM generate_series($2 - 1, 0, -1) AS d,
         generate_series(1, $1) AS w,
         generate_series(0, 4) AS j,
         LATERAL (SELECT ((w::bigint * 4000 + d) * 5 + j) AS k) AS key
) AS records
ORDER BY d DESC, w
)SQL";

// The inserts above give explicit ids; move each serial past them.
void reset_sequences(zc::pg::SpiSession& spi, const zc::core::SampleDataPlan& plan)
{
    const std::pair<const char*, int64> last_ids[] = {{"user_management.\"USER\"", plan.users()},
                                                      {"workspace_domain.workspace", plan.workspaces},
                                                      {"workspace_domain.user_workspace", plan.users()},
                                                      {"api_management.api_key", plan.api_keys()},
                                                      {"financial_management.account", plan.workspaces}};
    for (const auto& [table, last_id] : last_ids)
        spi.execute("SELECT setval(pg_get_serial_sequence($1, 'id'), $2)",
                    {zc::pg::text_param(table), zc::pg::int8_param(last_id)});
}

void require_empty_domain(zc::pg::SpiSession& spi)
{
    auto installed = spi.query_text(
        "SELECT to_regclass('workspace_domain.workspace') IS NOT NULL "
        "AND to_regclass('financial_management.consumption_record') IS NOT NULL");
    if (installed != std::optional<std::string>("t"))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state, "the zerocut domain schema is not installed",
                        "", "Run SELECT zerocut.install_domain_schema(); first.");
    auto has_rows = spi.query_text(
        "SELECT EXISTS (SELECT 1 FROM workspace_domain.workspace) "
        "OR EXISTS (SELECT 1 FROM user_management.\"USER\")");
    if (has_rows == std::optional<std::string>("t"))
        throw zc::Error(
            zc::sqlstate::object_not_in_prerequisite_state,
            "the domain tables already hold data; sample data goes only into empty tables", "",
            "Empty them first, e.g. TRUNCATE user_management.\"USER\", workspace_domain.workspace CASCADE;");
}

// Inserts everything; returns the counts as a JSON object's text.
std::string load_sample_data(const zc::core::SampleDataPlan& plan)
{
    zc::pg::SpiSession spi;
    zc::pg::PinnedSearchPath pinned;
    require_empty_domain(spi);
    std::string counts;
    const std::pair<const char*, const char*> steps[] = {{"users", insert_users},
                                                         {"workspaces", insert_workspaces},
                                                         {"memberships", insert_memberships},
                                                         {"api_keys", insert_api_keys},
                                                         {"accounts", insert_accounts},
                                                         {"usage_stats", insert_usage},
                                                         {"consumption_records", insert_consumption}};
    for (const auto& [name, sql] : steps) {
        uint64 rows = spi.execute(
            sql, {zc::pg::int4_param(plan.workspaces), zc::pg::int4_param(plan.days), zc::pg::int4_param(plan.seed)});
        counts += fmt::format("{}\"{}\": {}", counts.empty() ? "" : ", ", name, rows);
    }
    reset_sequences(spi, plan);
    {
        // Managed parents: rows older than their partitions sit in the default
        // partition; give them monthly partitions (no retention here).
        zc::partition::EngineSettings settings;
        zc::partition::maintain(spi, zc::partition::MaintainOptions{std::nullopt, false, std::nullopt});
    }
    spi.execute(
        "ANALYZE user_management.\"USER\", workspace_domain.workspace, workspace_domain.user_workspace, "
        "api_management.api_key, financial_management.account, data_statistics.usage_stats, "
        "financial_management.consumption_record");
    return "{" + counts + "}";
}

std::optional<int> int_arg(FunctionCallInfo fcinfo, int n)
{
    if (PG_ARGISNULL(n)) return std::nullopt;
    return PG_GETARG_INT32(n);
}

}  // namespace

ZC_FUNCTION(zc_generate_sample_data)
{
    zc::core::SampleDataPlan plan =
        zc::core::plan_sample_data(int_arg(fcinfo, 0), int_arg(fcinfo, 1), int_arg(fcinfo, 2));
    std::string counts = load_sample_data(plan);
    const char* text = counts.c_str();
    return zc::pg::guard([=] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(text)); });
}
