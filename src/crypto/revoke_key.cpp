// zerocut.revoke_key(key_name text, role name, encrypt boolean DEFAULT true,
//                    decrypt boolean DEFAULT true) RETURNS void
//
// Takes the named rights on `key_name` from `role`; a grant left with
// neither right is deleted.  Rights the role has through another role it
// inherits from stay.  Superusers and zerocut's owner only; see
// src/crypto/key_grants.hpp.
#include "crypto/key_grants.hpp"
#include "pg/boundary.hpp"

ZC_FUNCTION(zc_revoke_key)
{
    zc::crypto::KeyGrantChange change = zc::crypto::key_grant_change(fcinfo, "zerocut.revoke_key()");
    zc::crypto::apply_key_grant_change(change, false);
    PG_RETURN_VOID();
}
