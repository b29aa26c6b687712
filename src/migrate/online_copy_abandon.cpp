// zerocut.online_copy_abandon(source regclass) RETURNS boolean
//
// Gives up the online copy of source: its capture triggers (removed under a
// short, retried ACCESS EXCLUSIVE lock), its row in zerocut.online_copy and
// its captured changes.  The target keeps what was copied.  False (and a
// NOTICE) when source has neither a copy nor a capture trigger.
#include "migrate/online_copy_engine.hpp"
#include "pg/boundary.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

ZC_FUNCTION(zc_online_copy_abandon)
{
    zc::pg::require_arg(fcinfo, 0, "source");
    Oid source = PG_GETARG_OID(0);
    if (zc::pg::in_recovery()) {
        zc::pg::notice("online_copy_abandon: this server is a hot standby; nothing is done");
        PG_RETURN_BOOL(false);
    }
    bool done;
    {
        zc::pg::SpiSession spi;
        done = zc::migrate::abandon_online_copy(spi, source);
    }
    PG_RETURN_BOOL(done);
}
