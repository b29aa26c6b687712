// Converting between Datums and C++ values at the edge of an entry point.
#pragma once

#include <string>
#include <string_view>

#include "pg/postgres.hpp"

namespace zc::pg {

// A text Datum (palloc'd in the current memory context).
Datum text_datum(std::string_view value);

// The text argument `n` of the current call as std::string (detoasted).
std::string text_arg(FunctionCallInfo fcinfo, int n);

// Throws zc::Error (22004) naming `name` when argument `n` is NULL.
void require_arg(FunctionCallInfo fcinfo, int n, const char* name);

}  // namespace zc::pg
