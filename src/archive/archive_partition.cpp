// zerocut.archive_partition(partition regclass) RETURNS text
//
// Detaches one partition from its parent and attaches it to the parent's
// archive target; metadata only (see bound_check.cpp for why no scan).  The
// partition manager's retention_action 'archive' calls exactly this.
#include <string>

#include "archive/engine.hpp"
#include "pg/boundary.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

namespace {
std::string run(Oid partition)
{
    zc::pg::SpiSession spi;
    return zc::archive::archive_partition(spi, partition);
}
}  // namespace

ZC_FUNCTION(zc_archive_partition)
{
    zc::pg::require_arg(fcinfo, 0, "partition");
    if (zc::pg::in_recovery()) throw zc::Error("25006", "archive_partition: cannot move partitions on a hot standby");
    std::string moved = run(PG_GETARG_OID(0));
    return zc::pg::text_datum(moved);
}
