// Rule 2 of the boundary: no C++ exception into C frames.  Every extern "C"
// entry point is declared with ZC_FUNCTION(name) and its body runs inside
// zc::pg::call_boundary(): exceptions are caught, their text copied into
// plain buffers on the stack, every C++ object is destroyed, and only then
// is ereport()/ReThrowError() called.
//
//   ZC_FUNCTION(version)
//   {
//       return CStringGetTextDatum(...);   // fcinfo is in scope
//   }
#pragma once

#include <cstddef>

#include "core/errors.hpp"
#include "pg/guard.hpp"
#include "pg/postgres.hpp"

namespace zc::pg {

// What is left of an exception once the C++ objects are gone: PODs only.
// Deliberately not zero-initialised: it sits in every call's frame and is
// filled only when a call fails (capture_current_exception sets every field).
struct FailedCall {
    ErrorData* pg_error;  // a PostgreSQL error to re-raise intact
    int sqlerrcode;
    char message[1024];
    char detail[1024];
    char hint[512];
};

// Records the exception currently being handled into `out`.  Must be called
// from inside a catch handler; never throws, never calls ereport.
void capture_current_exception(FailedCall& out) noexcept;

// Raises `failed` as an ERROR.  Call with no C++ object alive in the frame.
[[noreturn]] void raise_failed_call(const FailedCall& failed);

template <typename Body>
Datum call_boundary(FunctionCallInfo fcinfo, Body body) noexcept
{
    FailedCall failed;  // NOLINT(cppcoreguidelines-pro-type-member-init): filled on failure only
    clear_pg_error_in_flight();
    try {
        return body(fcinfo);
    } catch (...) {
        capture_current_exception(failed);
    }
    raise_failed_call(failed);
}

}  // namespace zc::pg

// Declares the SQL-callable function `name` (C symbol `name`) with its
// body running inside the boundary.
#define ZC_FUNCTION(name)                                               \
    static Datum name##_body([[maybe_unused]] FunctionCallInfo fcinfo); \
    extern "C" {                                                        \
    PG_FUNCTION_INFO_V1(name);                                          \
    Datum name(PG_FUNCTION_ARGS)                                        \
    {                                                                   \
        return zc::pg::call_boundary(fcinfo, name##_body);              \
    }                                                                   \
    }                                                                   \
    static Datum name##_body([[maybe_unused]] FunctionCallInfo fcinfo)
