// zerocut.decrypt_sensitive_data(encrypted_data bytea, key text) RETURNS text   (seed-compatible)
//
// pgcrypto's pgp_sym_decrypt(encrypted_data, key): reads what
// pgp_sym_encrypt or encrypt_sensitive_data wrote.  STRICT.  A wrong key or
// damaged data is an ERROR naming the argument and showing neither.
#include <string>

#include "crypto/pgcrypto_call.hpp"
#include "pg/boundary.hpp"

ZC_FUNCTION(zc_decrypt_sensitive_data)
{
    FmgrInfo* function = zc::crypto::pgcrypto_function(fcinfo, "pgp_sym_decrypt(bytea,text)");
    Datum data = PG_GETARG_DATUM(0), key = PG_GETARG_DATUM(1);
    Oid collation = PG_GET_COLLATION();
    try {
        return zc::pg::guard([=] { return FunctionCall2Coll(function, collation, data, key); });
    } catch (const zc::pg::PgError& error) {
        if (error.sqlerrcode() != ERRCODE_EXTERNAL_ROUTINE_INVOCATION_EXCEPTION) throw;
        // pgcrypto's own messages ("Wrong key or corrupt data", ...) are fixed
        // texts; keep the SQLSTATE, name the argument.  The error still aborts
        // the transaction: it is converted, not swallowed.
        std::string reason = error.what();
        throw zc::Error("39000",
                        "decrypt_sensitive_data: cannot decrypt argument \"encrypted_data\": wrong key or corrupt data",
                        "pgcrypto: " + reason);
    }
}
