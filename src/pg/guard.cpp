#include "pg/guard.hpp"

namespace zc::pg {

namespace {
bool error_in_flight = false;
}

bool pg_error_in_flight() noexcept
{
    return error_in_flight;
}
void clear_pg_error_in_flight() noexcept
{
    error_in_flight = false;
}

[[noreturn]] void throw_pg_error(MemoryContext caller_context)
{
    // Runs right after PG_END_TRY: the error is still in ErrorContext.
    MemoryContextSwitchTo(caller_context);
    ErrorData* data = CopyErrorData();
    FlushErrorState();
    error_in_flight = true;
    throw PgError(data);
}

}  // namespace zc::pg
