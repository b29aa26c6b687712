// zerocut.protected_column_invalidate() RETURNS trigger
//
// AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ... FOR EACH STATEMENT on
// zerocut.protected_column: a change to the registry of protected columns
// (protect_column(), a restore, a superuser's hand) invalidates every
// relcache entry in every backend, so the protect triggers' registry cache
// and the audit trigger's redacted columns (src/crypto/protected_columns.hpp)
// are rebuilt at once, partitions included.  The registry changes rarely.
#include "pg/boundary.hpp"

extern "C" {
#include "utils/inval.h"
}

ZC_FUNCTION(zc_protected_column_invalidate)
{
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "protected_column_invalidate() must be called as a trigger");
    zc::pg::guard([] { CacheInvalidateRelcacheAll(); });
    return PointerGetDatum(nullptr);
}
