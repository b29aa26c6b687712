// zerocut.reencrypt(ciphertext bytea, context text DEFAULT NULL) RETURNS bytea
//
// Decrypts with the version the envelope names and encrypts again (same
// payload type and context) with the active version of the same key name.
// A ciphertext already under the active version is returned unchanged.
// The caller needs both the decrypt and the encrypt right on the key.
#include <openssl/crypto.h>

#include <string>

#include "crypto/key_grants.hpp"
#include "crypto/keyring.hpp"
#include "pg/boundary.hpp"

ZC_FUNCTION(zc_reencrypt)
{
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    std::optional<std::string> context = zc::crypto::optional_text_arg(fcinfo, 1);
    std::optional<std::string_view> aad = context ? std::optional<std::string_view>(*context) : std::nullopt;
    zc::crypto::Bytes ciphertext = zc::crypto::bytes_arg(fcinfo, 0);
    for (auto right : {zc::crypto::KeyRight::decrypt, zc::crypto::KeyRight::encrypt})
        zc::crypto::require_envelope_right(ciphertext, right, "zerocut.reencrypt()", "ciphertext");
    zc::core::PayloadType type{};
    varlena* plain = zc::crypto::open(ciphertext.data, ciphertext.size, aad, false, "ciphertext", &type);
    std::uint32_t old_id = zc::crypto::envelope_key_id(ciphertext.data, ciphertext.size, "ciphertext");
    zc::crypto::DataKey old_key = zc::crypto::key_by_id(old_id, "ciphertext");
    zc::crypto::DataKey active = zc::crypto::active_key(old_key.name, "ciphertext");
    if (active.id == old_id) {
        pfree(plain);
        PG_RETURN_DATUM(PG_GETARG_DATUM(0));
    }
    bytea* result = zc::crypto::seal(active, type, reinterpret_cast<const std::uint8_t*>(VARDATA(plain)),
                                     VARSIZE(plain) - VARHDRSZ, aad);
    std::size_t plain_size = VARSIZE(plain) - VARHDRSZ;
    OPENSSL_cleanse(VARDATA(plain), plain_size);
    pfree(plain);
    PG_RETURN_BYTEA_P(result);
}
