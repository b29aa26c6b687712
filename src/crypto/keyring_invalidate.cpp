// zerocut.keyring_invalidate() RETURNS trigger
//
// AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ... FOR EACH STATEMENT on
// zerocut.encryption_keys: any change to the keyring, including a manual
// DELETE or a restore, sends a relcache invalidation for the table, which
// every backend's key cache (src/crypto/keyring.cpp) listens to.
#include "pg/boundary.hpp"

extern "C" {
#include "utils/inval.h"
}

ZC_FUNCTION(zc_keyring_invalidate)
{
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "keyring_invalidate() must be called as a trigger");
    auto* data = reinterpret_cast<TriggerData*>(fcinfo->context);
    Oid relid = RelationGetRelid(data->tg_relation);
    zc::pg::guard([=] { CacheInvalidateRelcacheByRelid(relid); });
    return PointerGetDatum(nullptr);
}
