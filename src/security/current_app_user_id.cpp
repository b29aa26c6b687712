// zerocut.current_app_user_id() RETURNS integer
//
// The application user of the current transaction, for row-level security
// policies: NULL (no rows match) rather than an error when app.current_user_id
// is unset, '' or not a positive integer.  The seed's
// current_setting('app.current_user_id')::integer failed on '', the value a
// pooled connection keeps after a SET LOCAL ends, and so broke every later
// query on that connection.  Policies call it as (SELECT ...) so it runs
// once per query as an InitPlan, not once per row.
#include "pg/boundary.hpp"
#include "security/app_user.hpp"

ZC_FUNCTION(zc_current_app_user_id)
{
    std::optional<int32> user = zc::security::current_app_user();
    if (!user) PG_RETURN_NULL();
    return Int32GetDatum(*user);
}
