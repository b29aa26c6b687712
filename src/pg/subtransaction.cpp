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

void in_rolled_back_subtransaction(const std::function<void()>& work)
{
    MemoryContext caller = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    guard([] { BeginInternalSubTransaction(nullptr); });
    MemoryContextSwitchTo(caller);
    try {
        work();
    } catch (const PgError& error) {
        // Its ErrorData may go with the subtransaction: copied, then raised
        // again after the rollback with its SQLSTATE, detail and hint.
        int code = error.sqlerrcode();
        std::string message = error.what();
        std::string detail = error.data()->detail ? error.data()->detail : "";
        std::string hint = error.data()->hint ? error.data()->hint : "";
        roll_back(caller, owner);
        const char *m = message.c_str(), *d = detail.c_str(), *h = hint.c_str();
        guard([=] {
            ereport(ERROR, (errcode(code), errmsg_internal("%s", m), *d ? errdetail_internal("%s", d) : 0,
                            *h ? errhint("%s", h) : 0));
        });
    } catch (...) {
        roll_back(caller, owner);
        throw;
    }
    roll_back(caller, owner);
}

}  // namespace zc::pg
