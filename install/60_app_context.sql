-- This part: the application user context (app.current_user_id), read by
-- row-level security policies and the audit trigger, set per transaction so
-- a pooled connection never carries one client's user into the next.

CREATE FUNCTION zerocut.current_app_user_id() RETURNS integer
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'zc_current_app_user_id';
COMMENT ON FUNCTION zerocut.current_app_user_id() IS
    'The application user of this transaction: app.current_user_id as a positive integer; NULL, never an error, when it is unset, empty (as a pooled connection keeps it after SET LOCAL), not an integer, zero, negative or above 2147483647. Use it in policies as (SELECT zerocut.current_app_user_id()) so it runs once per query';

CREATE FUNCTION zerocut.set_app_user(user_id integer) RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'zc_set_app_user';
COMMENT ON FUNCTION zerocut.set_app_user(integer) IS
    'Sets app.current_user_id for the current transaction only (as SET LOCAL: gone at COMMIT or ROLLBACK, so pool-safe); NULL clears it for the transaction; a zero or negative user_id is an error (22023). Outside a transaction block it lasts as long as that implicit transaction: a lone statement, or an extended-protocol pipeline up to its Sync; a WARNING (25P01) when it commits with no statement after this call';
