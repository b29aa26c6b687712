#include "pg/values.hpp"

#include "core/errors.hpp"
#include "pg/guard.hpp"

namespace zc::pg {

Datum text_datum(std::string_view value)
{
    const char* data = value.data();
    int length = static_cast<int>(value.size());
    return guard([=] { return PointerGetDatum(cstring_to_text_with_len(data, length)); });
}

std::string text_arg(FunctionCallInfo fcinfo, int n)
{
    text* value = guard([=] { return PG_GETARG_TEXT_PP(n); });
    return std::string(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
}

void require_arg(FunctionCallInfo fcinfo, int n, const char* name)
{
    if (PG_ARGISNULL(n))
        throw Error(sqlstate::null_value_not_allowed, std::string("argument \"") + name + "\" must not be NULL");
}

}  // namespace zc::pg
