// zerocut.set_archive_policy(source regclass, time_column name, keep interval,
//     target regclass DEFAULT NULL, batch_size integer DEFAULT 10000,
//     whole_partitions boolean DEFAULT false) RETURNS void
#include <string>

#include "archive/engine.hpp"
#include "pg/boundary.hpp"
#include "pg/values.hpp"

extern "C" {
#include "utils/timestamp.h"
}

ZC_FUNCTION(zc_set_archive_policy)
{
    zc::pg::require_arg(fcinfo, 0, "source");
    zc::pg::require_arg(fcinfo, 1, "time_column");
    zc::pg::require_arg(fcinfo, 2, "keep");
    zc::pg::require_arg(fcinfo, 4, "batch_size");
    zc::pg::require_arg(fcinfo, 5, "whole_partitions");
    zc::archive::Policy policy;
    policy.source = PG_GETARG_OID(0);
    policy.time_column = NameStr(*PG_GETARG_NAME(1));
    Datum keep = PG_GETARG_DATUM(2);
    char* keep_text = zc::pg::guard([=] { return DatumGetCString(DirectFunctionCall1(interval_out, keep)); });
    policy.keep = keep_text;
    Oid target = PG_ARGISNULL(3) ? InvalidOid : PG_GETARG_OID(3);
    policy.batch_size = PG_GETARG_INT32(4);
    policy.whole_partitions = PG_GETARG_BOOL(5);
    {
        zc::pg::SpiSession spi;
        zc::archive::store_policy(spi, policy, target);
    }
    PG_RETURN_VOID();
}
