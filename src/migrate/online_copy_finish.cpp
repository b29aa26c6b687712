// zerocut.online_copy_finish(source regclass, target regclass, swap boolean DEFAULT false)
//     RETURNS TABLE(source_name, target_name, verified_rows, pending_rows, replayed, target_rows,
//                   checksum, compared_columns, lock_attempts, lock_wait_ms, lock_held_ms, swapped, details)
//
// Ends an online copy in the caller's transaction: catch-up replay,
// verification, then a short ACCESS EXCLUSIVE lock (lock_timeout, retried
// with back-off) under which the last changes are replayed, the names
// optionally swapped and the capture removed.  One row.
#include <string>
#include <vector>

#include "migrate/online_copy_engine.hpp"
#include "pg/boundary.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"
}

ZC_FUNCTION(zc_online_copy_finish)
{
    zc::pg::require_arg(fcinfo, 0, "source");
    zc::pg::require_arg(fcinfo, 1, "target");
    zc::pg::require_arg(fcinfo, 2, "swap");
    Oid source = PG_GETARG_OID(0), target = PG_GETARG_OID(1);
    bool swap = PG_GETARG_BOOL(2);
    zc::pg::guard([=] { InitMaterializedSRF(fcinfo, 0); });
    if (zc::pg::in_recovery()) {
        zc::pg::notice("online_copy_finish: this server is a hot standby; nothing is done");
        return (Datum)0;
    }
    zc::migrate::FinishResult r;
    {
        zc::pg::SpiSession spi;
        r = zc::migrate::finish_online_copy(spi, source, target, swap);
    }
    if (!r.to_validate.empty()) {
        std::string statements;
        for (const auto& statement : r.to_validate) statements += (statements.empty() ? "" : "; ") + statement;
        zc::pg::notice("online_copy_finish: " + std::to_string(r.to_validate.size()) +
                       (r.to_validate.size() == 1 ? " foreign key now references " : " foreign keys now reference ") +
                       r.source_name +
                       " as NOT VALID (new rows are checked); validate without blocking writes: " + statements);
    }
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    Datum values[13];
    bool nulls[13] = {};
    values[0] = zc::pg::text_datum(r.source_name);
    values[1] = zc::pg::text_datum(r.target_name);
    values[2] = Int64GetDatum(r.verified_rows);
    values[3] = Int64GetDatum(r.pending_rows);
    values[4] = Int64GetDatum(r.replayed);
    values[5] = Int64GetDatum(r.target_rows);
    values[6] = zc::pg::text_datum(r.checksum);
    std::vector<Datum> names;
    for (const auto& name : r.compared) names.push_back(zc::pg::text_datum(name));
    Datum* name_ptr = names.data();
    int count = static_cast<int>(names.size());
    values[7] = zc::pg::guard(
        [=] { return PointerGetDatum(construct_array(name_ptr, count, TEXTOID, -1, false, TYPALIGN_INT)); });
    values[8] = Int32GetDatum(r.lock_attempts);
    values[9] = Float8GetDatum(r.lock_wait_ms);
    values[10] = Float8GetDatum(r.lock_held_ms);
    values[11] = BoolGetDatum(r.swapped);
    const char* details = r.details.c_str();
    values[12] = zc::pg::guard([=] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(details)); });
    Datum* value_ptr = values;
    bool* null_ptr = nulls;
    zc::pg::guard([=] { tuplestore_putvalues(result->setResult, result->setDesc, value_ptr, null_ptr); });
    return (Datum)0;
}
