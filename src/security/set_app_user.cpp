// zerocut.set_app_user(user_id integer) RETURNS void
//
// Sets app.current_user_id for the current transaction only, as
// set_config('app.current_user_id', ..., is_local => true) and SET LOCAL do:
// COMMIT or ROLLBACK ends it, so a pooled server connection (PgBouncer in
// transaction mode) never hands one client's user to the next transaction.
// NULL clears it for the transaction (''; current_app_user_id() is then
// NULL).  A zero or negative id is refused: it could never match a user.
//
// Outside a transaction block the setting ends with the statement, as SET
// LOCAL's does; like SET LOCAL we then say so with a WARNING (25P01), since
// a following statement would run with no user.  Inside a multi-statement
// query string (an implicit block) or an explicit BEGIN it lasts until the
// end of the transaction, without a warning.  So it does, without a
// warning, in an extended-protocol pipeline without BEGIN: its statements
// up to the Sync are one transaction (the cheapest pool-safe form, one
// round trip and one commit; docs/isolation.md "Pools").
#include <cstdio>
#include <string>

#include "core/app_user.hpp"
#include "pg/boundary.hpp"

extern "C" {
#include "tcop/pquery.h"  // ActivePortal
}

namespace {

// True when this statement came as a simple query, whose implicit
// transaction (outside a block) ends with it.  exec_simple_query runs its
// statement in a portal hidden from pg_cursors; the extended protocol's
// Bind makes a visible one, and its transaction lasts until the Sync,
// which may carry more statements: we cannot tell, so we do not warn.
bool ends_with_this_statement()
{
    return !IsTransactionBlock() && (ActivePortal == nullptr || !ActivePortal->visible);
}

}  // namespace

ZC_FUNCTION(zc_set_app_user)
{
    char value[16] = "";  // '' clears; an int4 has at most 10 digits
    if (!PG_ARGISNULL(0)) {
        int32 user_id = PG_GETARG_INT32(0);
        if (user_id <= 0)
            throw zc::Error(zc::sqlstate::invalid_parameter_value,
                            "argument \"user_id\" must be a positive integer, not " + std::to_string(user_id), "",
                            "Pass NULL to clear the application user for this transaction.");
        std::snprintf(value, sizeof value, "%d", user_id);
    }
    const char* text = value;
    zc::pg::guard([=] {
        // The arguments set_config(..., is_local => true) uses: the caller
        // gets exactly what it could SET LOCAL itself.
        (void)set_config_option(zc::core::app_user_setting, text, superuser() ? PGC_SUSET : PGC_USERSET, PGC_S_SESSION,
                                GUC_ACTION_LOCAL, true, 0, false);
        if (ends_with_this_statement())
            ereport(WARNING, (errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
                              errmsg("zerocut.set_app_user() outside a transaction block lasts only until the "
                                     "end of the statement"),
                              errhint("Call it after BEGIN, in the transaction it is for.")));
    });
    PG_RETURN_VOID();
}
