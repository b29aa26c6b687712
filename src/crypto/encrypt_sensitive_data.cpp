// zerocut.encrypt_sensitive_data(data text, key text) RETURNS bytea   (seed-compatible)
//
// pgcrypto's pgp_sym_encrypt(data, key): the same OpenPGP message, so
// pgcrypto's pgp_sym_decrypt reads it.  STRICT.  The key still travels in
// the caller's SQL; prefer zerocut.encrypt() with the keyring.
#include "crypto/pgcrypto_call.hpp"
#include "pg/boundary.hpp"

ZC_FUNCTION(zc_encrypt_sensitive_data)
{
    FmgrInfo* function = zc::crypto::pgcrypto_function(fcinfo, "pgp_sym_encrypt(text,text)");
    Datum data = PG_GETARG_DATUM(0), key = PG_GETARG_DATUM(1);
    Oid collation = PG_GET_COLLATION();
    return zc::pg::guard([=] { return FunctionCall2Coll(function, collation, data, key); });
}
