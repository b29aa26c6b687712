// zerocut.rotate_key(name text) RETURNS integer
//
// A new version of `name` becomes active (new data to encrypt uses it); the
// old versions are kept as 'retired' and still decrypt.  Returns the new id.
#include <string>

#include "crypto/keyring.hpp"
#include "pg/boundary.hpp"
#include "pg/values.hpp"

ZC_FUNCTION(zc_rotate_key)
{
    zc::pg::require_arg(fcinfo, 0, "name");
    std::string name = zc::pg::text_arg(fcinfo, 0);
    zc::crypto::NewKey key = zc::crypto::add_key_version(name, true);
    PG_RETURN_INT32(static_cast<int32>(key.id));
}
