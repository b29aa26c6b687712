#include "pg/subtransaction.hpp"

#include "core/errors.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/resowner.h"
}

namespace zc::pg {

namespace {

void roll_back(MemoryContext caller, ResourceOwner owner)
{
    clear_pg_error_in_flight();     // this rollback is the abort it was waiting for
    MemoryContextSwitchTo(caller);  // the current one may go with the subtransaction
    guard([] { RollbackAndReleaseCurrentSubTransaction(); });
    MemoryContextSwitchTo(caller);
    CurrentResourceOwner = owner;
}

// A PostgreSQL error copied out of its ErrorData, which goes with the
// subtransaction, to be raised again after the rollback.
struct ErrorCopy {
    int code;
    std::string message, detail, hint;
    explicit ErrorCopy(const PgError& error)
        : code(error.sqlerrcode()),
          message(error.what()),
          detail(error.data()->detail ? error.data()->detail : ""),
          hint(error.data()->hint ? error.data()->hint : "")
    {
    }
    // guard() turns the ERROR into a PgError exception: this never returns.
    [[noreturn]] void raise() const
    {
        int c = code;
        const char *m = message.c_str(), *d = detail.c_str(), *h = hint.c_str();
        guard([=] {
            ereport(ERROR, (errcode(c), errmsg_internal("%s", m), *d ? errdetail_internal("%s", d) : 0,
                            *h ? errhint("%s", h) : 0));
        });
        pg_unreachable();
    }
};

}  // namespace

std::optional<std::string> in_subtransaction(const std::function<void()>& work, std::string* sqlstate)
{
    MemoryContext caller = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    guard([] { BeginInternalSubTransaction(nullptr); });
    MemoryContextSwitchTo(caller);
    std::optional<std::string> failure;
    int sqlerrcode = 0;
    try {
        work();
    } catch (const PgError& error) {
        failure = error.what();  // copied: its ErrorData goes with the subtransaction
        sqlerrcode = error.sqlerrcode();
        if (sqlstate != nullptr) *sqlstate = unpack_sql_state(sqlerrcode);
    } catch (const zc::Error& error) {
        failure = error.what();
        if (sqlstate != nullptr) *sqlstate = error.sqlstate() ? error.sqlstate() : "XX000";
    } catch (...) {
        roll_back(caller, owner);  // else the abort would end only this subtransaction
        throw;
    }
    if (!failure) {
        guard([] { ReleaseCurrentSubTransaction(); });
        MemoryContextSwitchTo(caller);
        CurrentResourceOwner = owner;
        return std::nullopt;
    }
    roll_back(caller, owner);
    // A cancel or statement timeout stops the caller too, as PL/pgSQL's
    // WHEN OTHERS does not catch it.
    if (sqlerrcode == ERRCODE_QUERY_CANCELED) {
        const char* message = failure->c_str();
        guard([=] { ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg_internal("%s", message))); });
    }
    return failure;
}

std::optional<std::string> in_subtransaction_expecting(const std::function<void()>& work,
                                                       const std::function<bool(int sqlerrcode)>& expected)
{
    MemoryContext caller = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    guard([] { BeginInternalSubTransaction(nullptr); });
    MemoryContextSwitchTo(caller);
    try {
        work();
    } catch (const PgError& error) {
        ErrorCopy copy(error);
        roll_back(caller, owner);
        if (expected(copy.code)) return copy.message;
        copy.raise();
    } catch (...) {
        roll_back(caller, owner);
        throw;
    }
    guard([] { ReleaseCurrentSubTransaction(); });
    MemoryContextSwitchTo(caller);
    CurrentResourceOwner = owner;
    return std::nullopt;
}

void in_rolled_back_subtransaction(const std::function<void()>& work)
{
    MemoryContext caller = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    guard([] { BeginInternalSubTransaction(nullptr); });
    MemoryContextSwitchTo(caller);
    try {
        work();
    } catch (const PgError& error) {
        ErrorCopy copy(error);
        roll_back(caller, owner);
        copy.raise();
    } catch (...) {
        roll_back(caller, owner);
        throw;
    }
    roll_back(caller, owner);
}

}  // namespace zc::pg
