// CALL zerocut.archive_proc(source regclass DEFAULT NULL, max_batches integer DEFAULT NULL)
//
// Like archive(), but commits after every batch and every partition move
// (a nonatomic SPI connection: the CALL must be top level, outside a
// transaction block).  Cancel or crash at any point loses only the batch in
// flight, which rolls back; calling it again resumes.  Each unit runs in a
// subtransaction closed before its commit: a failing policy loses only its
// unit in flight, is reported with a WARNING, and the others proceed.
#include <optional>
#include <string>
#include <vector>

#include "archive/engine.hpp"
#include "pg/boundary.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "nodes/parsenodes.h"
}

namespace {
void run(std::optional<Oid> source, std::optional<int> max_batches)
{
    zc::pg::SpiSession spi(true);
    std::vector<zc::archive::Policy> policies;
    {
        zc::pg::PinnedSearchPath pinned;
        policies = zc::archive::load_policies(spi, source);
    }
    zc::archive::Runner runner(spi, true, max_batches);
    int64_t total = 0;
    bool finished = true;
    int failed = 0;
    int skipped = 0;
    for (const auto& policy : policies) {
        if (!runner.budget_left()) {
            finished = false;
            break;
        }
        auto result = runner.run_isolated(policy, "Archived rows by policy (archive_proc)");
        total += result.rows_moved;
        if (result.status == "error") {
            ++failed;
            zc::pg::warning("archive_proc: policy of " + result.source_name + " failed: " + result.error,
                            "Its unit in flight was rolled back; the other policies ran.  See audit_log.system_log.");
        } else if (result.status == "skipped") {
            ++skipped;
            zc::pg::warning("archive_proc: policy of " + result.source_name + " skipped: " + result.error,
                            "CALL again later; nothing was waited for.");
        } else {
            finished = finished && result.finished;
        }
    }
    std::string problems;
    if (failed > 0) problems += "; " + std::to_string(failed) + " failed";
    if (skipped > 0) problems += "; " + std::to_string(skipped) + " skipped";
    zc::pg::notice("archive_proc: " + std::to_string(total) + " rows moved" + problems +
                   (finished ? "; done" : "; stopped at max_batches, CALL again to continue"));
}
}  // namespace

ZC_FUNCTION(zc_archive_proc)
{
    bool nonatomic = fcinfo->context != nullptr && IsA(fcinfo->context, CallContext) &&
                     !castNode(CallContext, fcinfo->context)->atomic;
    if (!nonatomic)
        throw zc::Error("2D000", "archive_proc: must be called with CALL at top level, outside a transaction block",
                        "it commits after every batch",
                        "Inside a transaction use SELECT * FROM zerocut.archive(); instead.");
    if (!PG_ARGISNULL(1) && PG_GETARG_INT32(1) <= 0)
        throw zc::Error(
            zc::sqlstate::invalid_parameter_value,
            "archive_proc: max_batches must be positive or NULL, not " + std::to_string(PG_GETARG_INT32(1)));
    if (zc::pg::in_recovery()) {
        zc::pg::notice("archive_proc: this server is a hot standby; nothing is archived");
        PG_RETURN_VOID();
    }
    std::optional<Oid> source;
    if (!PG_ARGISNULL(0)) source = PG_GETARG_OID(0);
    std::optional<int> max_batches;
    if (!PG_ARGISNULL(1)) max_batches = PG_GETARG_INT32(1);
    run(source, max_batches);
    PG_RETURN_VOID();
}
