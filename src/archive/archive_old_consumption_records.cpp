// zerocut.archive_old_consumption_records() RETURNS integer
//
// The seed's contract (section 3): consumption records older than
// CURRENT_DATE - keep (the policy's keep, default 6 months) move to the
// archive (archive.consumption_record_archive unless the policy names one),
// one INFO row goes to audit_log.system_log, the rows moved are returned.
// Whole old partitions move by metadata; other rows in batches; one transaction.
#include <climits>
#include <optional>
#include <string>

#include "archive/engine.hpp"
#include "pg/boundary.hpp"
#include "pg/system_log.hpp"

namespace {
int64_t run()
{
    zc::pg::SpiSession spi;
    std::optional<zc::archive::Policy> policy;
    {
        zc::pg::PinnedSearchPath pinned;
        auto table =
            spi.query_text("SELECT pg_catalog.to_regclass('financial_management.consumption_record')::pg_catalog.oid");
        if (!table)
            throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                            "archive_old_consumption_records: financial_management.consumption_record does not exist",
                            "", "Run SELECT zerocut.install_domain_schema(); first.");
        Oid source = static_cast<Oid>(std::stoul(*table));
        policy = zc::archive::find_policy(spi, source);
        if (!policy) {
            // The seed's name, as the domain's policy stores it.
            policy = zc::archive::Policy{};
            policy->source_schema = "financial_management";
            policy->source_table = "consumption_record";
            policy->source = source;
            policy->time_column = "created_at";
            policy->keep = "6 mons";
            policy->target_schema = "archive";
            policy->target_table = "consumption_record_archive";
        }
    }
    zc::archive::Runner runner(spi, false, std::nullopt);
    auto result = runner.run(*policy, "Archived consumption records");
    if (result.status == "skipped")
        zc::pg::warning("archive_old_consumption_records: whole partitions not moved: " + result.error,
                        "The rows counted moved; the rest moves on a later run.");
    return result.rows_moved;
}
}  // namespace

ZC_FUNCTION(zc_archive_old_consumption_records)
{
    if (zc::pg::in_recovery()) {
        zc::pg::notice("archive_old_consumption_records: this server is a hot standby; nothing is archived");
        PG_RETURN_INT32(0);
    }
    int64_t moved = run();
    if (moved > INT_MAX)
        throw zc::Error(
            zc::sqlstate::numeric_value_out_of_range,
            "archive_old_consumption_records: " + std::to_string(moved) + " rows moved, more than an integer holds",
            "the rows are archived; the count does not fit the seed's integer result",
            "Use SELECT * FROM zerocut.archive() for bigint counts.");
    PG_RETURN_INT32(static_cast<int32>(moved));
}
