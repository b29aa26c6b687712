// CALL zerocut.online_copy(source regclass, target regclass, column_map jsonb DEFAULT NULL,
//                          batch_size integer DEFAULT 5000)
//
// Copies source into the empty table target while the application keeps
// writing to source: change capture, keyset batches committed one by one,
// replay of the captured changes (src/migrate/online_copy_engine.hpp).  A
// nonatomic CALL (top level, outside a transaction block): cancel or crash
// loses only the batch in flight; calling it again resumes.
#include <optional>
#include <string>

#include "migrate/online_copy_engine.hpp"
#include "pg/boundary.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "nodes/parsenodes.h"
#include "utils/jsonb.h"
}

ZC_FUNCTION(zc_online_copy)
{
    bool nonatomic = fcinfo->context != nullptr && IsA(fcinfo->context, CallContext) &&
                     !castNode(CallContext, fcinfo->context)->atomic;
    if (!nonatomic)
        throw zc::Error("2D000", "online_copy: must be called with CALL at top level, outside a transaction block",
                        "it commits after every batch");
    zc::pg::require_arg(fcinfo, 0, "source");
    zc::pg::require_arg(fcinfo, 1, "target");
    zc::pg::require_arg(fcinfo, 3, "batch_size");
    int batch_size = PG_GETARG_INT32(3);
    if (batch_size <= 0 || batch_size > 1000000)
        throw zc::Error(zc::sqlstate::invalid_parameter_value,
                        "argument \"batch_size\" must be between 1 and 1000000, not " + std::to_string(batch_size));
    if (zc::pg::in_recovery()) {
        zc::pg::notice("online_copy: this server is a hot standby; nothing is copied");
        PG_RETURN_VOID();
    }
    std::optional<std::string> column_map;
    if (!PG_ARGISNULL(2)) {
        Datum map = PG_GETARG_DATUM(2);
        const char* text = zc::pg::guard([=] { return DatumGetCString(DirectFunctionCall1(jsonb_out, map)); });
        column_map = text;
    }
    Oid source = PG_GETARG_OID(0), target = PG_GETARG_OID(1);
    {
        zc::pg::SpiSession spi(true);
        zc::migrate::run_online_copy(spi, source, target, column_map, batch_size);
    }
    PG_RETURN_VOID();
}
