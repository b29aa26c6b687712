// zerocut.blind_index(data text, key_name text DEFAULT 'default') RETURNS bytea
// zerocut.blind_index(data bytea, key_name text DEFAULT 'default') RETURNS bytea  (same bytes, same index)
//
// HMAC-SHA256 of the data under a key derived (HKDF, its own label) from the
// first version of `key_name`: equal inputs give equal indexes, for equality
// search on encrypted columns; rotation does not change it.  NULL gives NULL.
// The caller needs the encrypt right on the key: whoever computes blind
// indexes can test guesses against an indexed column.
#include <string>

#include "crypto/key_grants.hpp"
#include "crypto/keyring.hpp"
#include "pg/boundary.hpp"
#include "pg/values.hpp"

ZC_FUNCTION(zc_blind_index)
{
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    zc::pg::require_arg(fcinfo, 1, "key_name");
    std::string key_name = zc::pg::text_arg(fcinfo, 1);
    zc::crypto::require_key_right(key_name, zc::crypto::KeyRight::encrypt, "zerocut.blind_index()");
    zc::crypto::Bytes data = zc::crypto::bytes_arg(fcinfo, 0);
    zc::crypto::DataKey key = zc::crypto::blind_index_key(key_name, "key_name");
    PG_RETURN_BYTEA_P(zc::crypto::blind_index(key, data.data, data.size));
}
