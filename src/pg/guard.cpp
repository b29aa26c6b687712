#include "pg/guard.hpp"

namespace zc::pg {

[[noreturn]] void throw_pg_error(MemoryContext caller_context)
{
    // Runs right after PG_END_TRY: the error is still in ErrorContext.
    MemoryContextSwitchTo(caller_context);
    ErrorData* data = CopyErrorData();
    FlushErrorState();
    throw PgError(data);
}

}  // namespace zc::pg
