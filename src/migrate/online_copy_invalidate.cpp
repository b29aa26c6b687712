// zerocut.online_copy_invalidate() RETURNS trigger
//
// AFTER INSERT OR DELETE OR TRUNCATE ... FOR EACH STATEMENT on
// zerocut.online_copy: a copy begun or ended (online_copy, finish, abandon,
// the sql_drop event trigger, a restore) invalidates every relcache entry,
// so the capture trigger's cache of which tables it logs
// (src/migrate/online_copy_capture.cpp) is rebuilt in every backend.
// Progress updates (one per batch) do not fire it.
#include "pg/boundary.hpp"

extern "C" {
#include "utils/inval.h"
}

ZC_FUNCTION(zc_online_copy_invalidate)
{
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "online_copy_invalidate() must be called as a trigger");
    zc::pg::guard([] { CacheInvalidateRelcacheAll(); });
    return PointerGetDatum(nullptr);
}
