#include "pg/subtransaction.hpp"

#include "core/errors.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/resowner.h"
}

namespace zc::pg {

std::optional<std::string> in_subtransaction(const std::function<void()>& work)
{
    MemoryContext caller = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    guard([] { BeginInternalSubTransaction(nullptr); });
    MemoryContextSwitchTo(caller);
    std::optional<std::string> failure;
    try {
        work();
    } catch (const PgError& error) {
        failure = error.what();  // copied: its ErrorData goes with the subtransaction
    } catch (const zc::Error& error) {
        failure = error.what();
    }
    if (failure) {
        clear_pg_error_in_flight();  // this rollback is the abort it was waiting for
        guard([] { RollbackAndReleaseCurrentSubTransaction(); });
    } else {
        guard([] { ReleaseCurrentSubTransaction(); });
    }
    MemoryContextSwitchTo(caller);
    CurrentResourceOwner = owner;
    return failure;
}

}  // namespace zc::pg
