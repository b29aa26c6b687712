// zerocut.grant_key(key_name text, role name, encrypt boolean DEFAULT true,
//                   decrypt boolean DEFAULT true) RETURNS void
//
// Lets `role`, and every role with its privileges, use the key `key_name`
// (every version, present and future) with zerocut.encrypt()/blind_index()
// (encrypt) and zerocut.decrypt()/decrypt_bytea() (decrypt); adds to what
// the role holds already (idempotent).  Superusers and zerocut's owner only;
// see src/crypto/key_grants.hpp.
#include <string>

#include "crypto/key_grants.hpp"
#include "pg/boundary.hpp"
#include "pg/system_log.hpp"

extern "C" {
#include "miscadmin.h"
}

ZC_FUNCTION(zc_grant_key)
{
    zc::crypto::KeyGrantChange change = zc::crypto::key_grant_change(fcinfo, "zerocut.grant_key()");
    Oid role = change.role;
    if (zc::pg::guard([=] { return superuser_arg(role); }))
        zc::pg::notice("role \"" + change.role_name +
                       "\" is a superuser: superusers use every key without a grant (recorded all the same)");
    zc::crypto::apply_key_grant_change(change, true);
    PG_RETURN_VOID();
}
