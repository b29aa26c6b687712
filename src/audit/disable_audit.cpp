// zerocut.disable_audit(tbl regclass) RETURNS void
//
// Drops the audit triggers zerocut.enable_audit() created on `tbl` and its
// row in zerocut.audit_config (found by OID, whatever the table is called
// now).  The log keeps its rows.  Idempotent: a table
// that is not audited gets a NOTICE.
#include <string>

#include "audit/audit_admin.hpp"
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/run_as.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

namespace {

bool disable(const zc::audit::AuditedTable& table)
{
    zc::pg::SpiSession spi;
    zc::pg::PinnedSearchPath pinned;
    // The caller owns the table (checked): it drops the triggers itself.
    int dropped = zc::audit::drop_audit_triggers(spi, table);
    uint64 removed =
        zc::audit::write_config(spi, "DELETE FROM zerocut.audit_config WHERE relation = $1::pg_catalog.regclass",
                                {zc::pg::Param{OIDOID, ObjectIdGetDatum(table.relid)}});
    return dropped > 0 || removed > 0;
}

}  // namespace

ZC_FUNCTION(zc_disable_audit)
{
    zc::pg::require_arg(fcinfo, 0, "tbl");
    zc::audit::AuditedTable table = zc::audit::audited_table(PG_GETARG_OID(0), "tbl", true);
    if (!disable(table)) zc::pg::notice("table " + table.qualified + " is not audited; nothing to do");
    PG_RETURN_VOID();
}
