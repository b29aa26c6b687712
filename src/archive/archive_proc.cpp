// CALL zerocut.archive_proc(source regclass DEFAULT NULL, max_batches integer DEFAULT NULL)
//
// Like archive(), but commits after every batch and every partition move
// (a nonatomic SPI connection: the CALL must be top level, outside a
// transaction block).  Cancel or crash at any point loses only the batch in
// flight, which rolls back; calling it again resumes.
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
    for (const auto& policy : policies) {
        if (!runner.budget_left()) {
            finished = false;
            break;
        }
        auto result = runner.run(policy, "Archived rows by policy (archive_proc)");
        total += result.rows_moved;
        finished = finished && result.finished;
    }
    zc::pg::notice("archive_proc: " + std::to_string(total) + " rows moved" +
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
