// zerocut.set_app_user(user_id integer) RETURNS void
//
// Sets app.current_user_id for the current transaction only, as
// set_config('app.current_user_id', ..., is_local => true) and SET LOCAL do:
// COMMIT or ROLLBACK ends it, so a pooled server connection (PgBouncer in
// transaction mode) never hands one client's user to the next transaction.
// NULL clears it for the transaction (''; current_app_user_id() is then
// NULL).  A zero or negative id is refused: it could never match a user.
//
// Outside a transaction block the setting lasts as long as the implicit
// transaction: to the end of a lone statement, or to the Sync of an
// extended-protocol pipeline (its statements up to the Sync are one
// transaction: the cheapest pool-safe form, docs/isolation.md "Pools").
// When that transaction commits with no statement after ours, the user was
// gone before anything could use it: like SET LOCAL we then say so with a
// WARNING (25P01).  Inside a multi-statement query string (an implicit
// block) or an explicit BEGIN there is nothing to warn about.
#include <cstdio>
#include <string>

#include "core/app_user.hpp"
#include "pg/boundary.hpp"
#include "pg/module.hpp"

extern "C" {
#include "access/xact.h"
}

namespace {

// The statement start time of a set_app_user() call outside a transaction
// block, until its transaction ends; 0 otherwise.  PostgreSQL stamps every
// Query, Parse, Bind and Execute message with a new start time and Sync
// with none, so an unchanged time at commit means no statement came after.
TimestampTz set_outside_block_at = 0;

// C frames only (called by PostgreSQL): ereport(WARNING) returns.
void warn_if_unused(XactEvent event, void*)
{
    if (set_outside_block_at == 0) return;
    if (event == XACT_EVENT_PRE_COMMIT && GetCurrentStatementStartTimestamp() == set_outside_block_at)
        ereport(WARNING, (errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
                          errmsg("zerocut.set_app_user() outside a transaction block lasts only until the "
                                 "end of the statement"),
                          errhint("Call it after BEGIN, in the transaction it is for, or in the same pipeline "
                                  "before the Sync.")));
    set_outside_block_at = 0;
}

zc::pg::OnLoad register_warning([] { RegisterXactCallback(warn_if_unused, nullptr); });

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
        if (!IsTransactionBlock()) set_outside_block_at = GetCurrentStatementStartTimestamp();
    });
    PG_RETURN_VOID();
}
