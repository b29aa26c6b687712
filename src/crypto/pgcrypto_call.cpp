#include "crypto/pgcrypto_call.hpp"

#include <string>

#include "core/errors.hpp"
#include "pg/guard.hpp"
#include "pg/spi.hpp"

namespace zc::crypto {

FmgrInfo* pgcrypto_function(FunctionCallInfo fcinfo, const char* function_signature)
{
    if (fcinfo->flinfo->fn_extra != nullptr) return static_cast<FmgrInfo*>(fcinfo->flinfo->fn_extra);
    std::optional<std::string> oid;
    {
        zc::pg::PinnedSearchPath path;
        zc::pg::SpiSession spi;
        oid = spi.query_text(
            "SELECT pg_catalog.to_regprocedure(pg_catalog.quote_ident(n.nspname) || '.' || $1)::oid::text "
            "FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pgcrypto'",
            {zc::pg::text_param(function_signature)});
    }
    if (!oid)
        throw Error("42883",
                    std::string("pgcrypto is not installed in this database (needed for ") + function_signature + ")",
                    "", "CREATE EXTENSION pgcrypto");
    Oid function = static_cast<Oid>(std::stoul(*oid));
    FunctionCallInfo call = fcinfo;
    return zc::pg::guard([=] {
        FmgrInfo* info = static_cast<FmgrInfo*>(MemoryContextAllocZero(call->flinfo->fn_mcxt, sizeof(FmgrInfo)));
        fmgr_info_cxt(function, info, call->flinfo->fn_mcxt);
        call->flinfo->fn_extra = info;
        return info;
    });
}

}  // namespace zc::crypto
