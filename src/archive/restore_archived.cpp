// zerocut.restore_archived(source regclass, from_ts timestamptz, to_ts timestamptz) RETURNS bigint
//
// Moves archived rows with from_ts <= time < to_ts back into source, in one
// DELETE ... RETURNING -> INSERT statement.  Bounds may be infinite:
// from_ts -infinity takes rows at -infinity, to_ts infinity has no upper
// bound (rows at +infinity included).
#include <string>

#include "archive/engine.hpp"
#include "pg/boundary.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "utils/timestamp.h"
}

namespace {
std::string timestamp_text(Datum value)
{
    char* text = zc::pg::guard([=] { return DatumGetCString(DirectFunctionCall1(timestamptz_out, value)); });
    return text;
}

int64_t run(Oid source, const std::string& from, const std::string& to)
{
    zc::pg::SpiSession spi;
    return zc::archive::restore_archived(spi, source, from, to);
}
}  // namespace

ZC_FUNCTION(zc_restore_archived)
{
    zc::pg::require_arg(fcinfo, 0, "source");
    zc::pg::require_arg(fcinfo, 1, "from_ts");
    zc::pg::require_arg(fcinfo, 2, "to_ts");
    TimestampTz from = PG_GETARG_TIMESTAMPTZ(1);
    TimestampTz to = PG_GETARG_TIMESTAMPTZ(2);
    if (from >= to)
        throw zc::Error(
            zc::sqlstate::invalid_parameter_value, "restore_archived: from_ts must be before to_ts",
            "from_ts " + timestamp_text(PG_GETARG_DATUM(1)) + ", to_ts " + timestamp_text(PG_GETARG_DATUM(2)));
    if (zc::pg::in_recovery()) throw zc::Error("25006", "restore_archived: cannot move rows on a hot standby");
    int64_t moved = run(PG_GETARG_OID(0), timestamp_text(PG_GETARG_DATUM(1)), timestamp_text(PG_GETARG_DATUM(2)));
    PG_RETURN_INT64(moved);
}
