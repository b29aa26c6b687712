// zerocut.create_key(name text) RETURNS integer
//
// A new random 256-bit data key, wrapped by the root key (zerocut.key_file),
// stored as version 1 of `name`; returns its id.  Revoked from PUBLIC.
#include <string>

#include "crypto/keyring.hpp"
#include "pg/boundary.hpp"
#include "pg/values.hpp"

ZC_FUNCTION(zc_create_key)
{
    zc::pg::require_arg(fcinfo, 0, "name");
    std::string name = zc::pg::text_arg(fcinfo, 0);
    zc::crypto::NewKey key = zc::crypto::add_key_version(name, false);
    PG_RETURN_INT32(static_cast<int32>(key.id));
}
