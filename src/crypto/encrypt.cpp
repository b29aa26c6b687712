// zerocut.encrypt(data text, key_name text DEFAULT 'default', context text DEFAULT NULL) RETURNS bytea
// zerocut.encrypt(data bytea, key_name text DEFAULT 'default', context text DEFAULT NULL) RETURNS bytea
//
// AES-256-GCM under the active version of `key_name`, random 96-bit nonce,
// `context` bound as associated data.  NULL data gives NULL (like a column
// that has no value); a NULL key name is an error.  The caller needs the
// encrypt right on the key (zerocut.grant_key()).
#include <string>

#include "crypto/key_grants.hpp"
#include "crypto/keyring.hpp"
#include "pg/boundary.hpp"
#include "pg/values.hpp"

namespace {

Datum encrypt_call(FunctionCallInfo fcinfo, zc::core::PayloadType type)
{
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    zc::pg::require_arg(fcinfo, 1, "key_name");
    std::string key_name = zc::pg::text_arg(fcinfo, 1);
    std::optional<std::string> context = zc::crypto::optional_text_arg(fcinfo, 2);
    zc::crypto::require_key_right(key_name, zc::crypto::KeyRight::encrypt, "zerocut.encrypt()");
    zc::crypto::Bytes data = zc::crypto::bytes_arg(fcinfo, 0);
    zc::crypto::DataKey key = zc::crypto::active_key(key_name, "key_name");
    bytea* result = zc::crypto::seal(key, type, data.data, data.size,
                                     context ? std::optional<std::string_view>(*context) : std::nullopt);
    PG_RETURN_BYTEA_P(result);
}

}  // namespace

ZC_FUNCTION(zc_encrypt)
{
    return encrypt_call(fcinfo, zc::core::PayloadType::text);
}

ZC_FUNCTION(zc_encrypt_bytea)
{
    return encrypt_call(fcinfo, zc::core::PayloadType::bytea);
}
