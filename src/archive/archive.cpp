// zerocut.archive(source regclass DEFAULT NULL) RETURNS TABLE(source regclass,
//     rows_moved bigint, partitions_moved integer, method text, duration interval,
//     status text, error text)
//
// Every policy (or the one of source) in the caller's transaction, each in
// its own subtransaction: a failing one is reported, the others proceed.
#include <optional>
#include <vector>

#include "archive/engine.hpp"
#include "pg/boundary.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

namespace {
std::vector<zc::archive::RunResult> run(std::optional<Oid> source)
{
    std::vector<zc::archive::RunResult> results;
    zc::pg::SpiSession spi;
    std::vector<zc::archive::Policy> policies;
    {
        zc::pg::PinnedSearchPath pinned;
        policies = zc::archive::load_policies(spi, source);
    }
    zc::archive::Runner runner(spi, false, std::nullopt);
    for (const auto& policy : policies) results.push_back(runner.run_isolated(policy, "Archived rows by policy"));
    return results;
}
}  // namespace

ZC_FUNCTION(zc_archive)
{
    std::optional<Oid> source;
    if (!PG_ARGISNULL(0)) source = PG_GETARG_OID(0);
    zc::pg::guard([=] { InitMaterializedSRF(fcinfo, 0); });
    if (zc::pg::in_recovery()) {
        zc::pg::notice("archive: this server is a hot standby; nothing is archived");
        return (Datum)0;
    }
    std::vector<zc::archive::RunResult> results = run(source);
    ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const auto& r : results) {
        Datum values[7];
        bool nulls[7] = {false, false, false, false, false, false, false};
        values[0] = ObjectIdGetDatum(r.source);
        nulls[0] = r.source == InvalidOid;
        values[1] = Int64GetDatum(r.rows_moved);
        values[2] = Int32GetDatum(r.partitions_moved);
        values[3] = zc::pg::text_datum(r.method());
        int64 micros = static_cast<int64>(r.duration_ms * 1000.0);
        Interval* duration = zc::pg::guard([=] {
            Interval* iv = static_cast<Interval*>(palloc0(sizeof(Interval)));
            iv->time = micros;
            return iv;
        });
        values[4] = IntervalPGetDatum(duration);
        values[5] = zc::pg::text_datum(r.status);
        values[6] = zc::pg::text_datum(r.error);
        nulls[6] = r.error.empty();
        Tuplestorestate* store = rsinfo->setResult;
        TupleDesc desc = rsinfo->setDesc;
        Datum* value_ptr = values;
        bool* null_ptr = nulls;
        zc::pg::guard([=] { tuplestore_putvalues(store, desc, value_ptr, null_ptr); });
    }
    return (Datum)0;
}
