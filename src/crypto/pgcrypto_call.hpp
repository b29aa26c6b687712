// Calling pgcrypto's pgp_sym_encrypt/pgp_sym_decrypt from the seed-compatible
// wrappers: found in pgcrypto's own schema (never through the caller's
// search_path), once per query (cached in fn_extra).
#pragma once

#include "pg/postgres.hpp"

namespace zc::crypto {

// The FmgrInfo of pgcrypto's `function_signature` (e.g.
// "pgp_sym_encrypt(text,text)"), cached in flinfo->fn_extra.  Missing
// pgcrypto: ERROR 42883 with HINT 'CREATE EXTENSION pgcrypto'.
FmgrInfo* pgcrypto_function(FunctionCallInfo fcinfo, const char* function_signature);

}  // namespace zc::crypto
