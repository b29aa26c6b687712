// zerocut.decrypt(ciphertext bytea, context text DEFAULT NULL) RETURNS text
// zerocut.decrypt_bytea(ciphertext bytea, context text DEFAULT NULL) RETURNS bytea
//
// Finds the data key from the envelope's header; tampering, truncation, a
// wrong context or an unknown key are errors, never garbage.  NULL gives NULL.
// The caller needs the decrypt right on that key (zerocut.grant_key()).
#include <string>

#include "crypto/key_grants.hpp"
#include "crypto/keyring.hpp"
#include "pg/boundary.hpp"

namespace {

Datum decrypt_call(FunctionCallInfo fcinfo, bool want_text)
{
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    std::optional<std::string> context = zc::crypto::optional_text_arg(fcinfo, 1);
    zc::crypto::Bytes ciphertext = zc::crypto::bytes_arg(fcinfo, 0);
    zc::crypto::require_envelope_right(ciphertext, zc::crypto::KeyRight::decrypt,
                                       want_text ? "zerocut.decrypt()" : "zerocut.decrypt_bytea()", "ciphertext");
    varlena* plain =
        zc::crypto::open(ciphertext.data, ciphertext.size,
                         context ? std::optional<std::string_view>(*context) : std::nullopt, want_text, "ciphertext");
    PG_RETURN_POINTER(plain);
}

}  // namespace

ZC_FUNCTION(zc_decrypt)
{
    return decrypt_call(fcinfo, true);
}

ZC_FUNCTION(zc_decrypt_bytea)
{
    return decrypt_call(fcinfo, false);
}
