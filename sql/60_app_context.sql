-- Application user context (issue 17): zerocut.current_app_user_id() reads
-- app.current_user_id as a positive integer, NULL and never an error for
-- anything else; zerocut.set_app_user() sets it for the current transaction
-- only, so a pooled connection never carries it into the next one.
-- An error as text (SQLSTATE and message); the failed statement's
-- subtransaction is rolled back, so nothing it did stays.
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- What current_app_user_id() reads from a setting (set for this statement's
-- transaction only).
CREATE FUNCTION pg_temp.user_for(setting text) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.current_user_id', setting, true);
    RETURN zerocut.current_app_user_id();
END $$;

SELECT p.oid::regprocedure AS function, p.provolatile AS volatility, p.proparallel AS parallel,
       p.proisstrict AS strict, p.prosecdef AS security_definer
FROM pg_proc p
WHERE p.oid IN ('zerocut.current_app_user_id()'::regprocedure, 'zerocut.set_app_user(integer)'::regprocedure)
ORDER BY 1;

-- ---------------------------------------------------------------------------
-- 1. current_app_user_id(): a positive int4, else NULL.
-- Never set in this session: NULL.
SELECT current_setting('app.current_user_id', true) IS NULL AS never_set, zerocut.current_app_user_id();
-- Every kind of value.  Decimal only (PostgreSQL 16 would also cast '0x10'
-- and '1_000' to integer; 15 does not: zerocut reads the same everywhere);
-- a '+' sign, leading zeros and blanks around the number are accepted, as
-- the integer cast accepts them.
SELECT format('%L', v) AS setting, pg_temp.user_for(v) AS current_app_user_id
FROM unnest(ARRAY['', '   ', 'abc', '-1', '0', '-0', '000', '2147483648', '99999999999999999999', '-2147483648',
                  '4 2', '4.2', '42abc', '0x10', '1e3', '1_000', '+', '++5',
                  '42', ' 42 ', '+5', '007', '1', '2147483647']) WITH ORDINALITY AS u(v, n)
ORDER BY n;
-- The same through SET.
SET app.current_user_id = '';
SELECT zerocut.current_app_user_id();
SET app.current_user_id = 'abc';
SELECT zerocut.current_app_user_id();
SET app.current_user_id = '-1';
SELECT zerocut.current_app_user_id();
SET app.current_user_id = '2147483648';
SELECT zerocut.current_app_user_id();
SET app.current_user_id = ' 42 ';
SELECT zerocut.current_app_user_id();
SET app.current_user_id = 42;
SELECT zerocut.current_app_user_id();
RESET app.current_user_id;
SELECT current_setting('app.current_user_id') AS after_reset, zerocut.current_app_user_id();

-- ---------------------------------------------------------------------------
-- 2. set_app_user(): for the current transaction only.
BEGIN;
SELECT zerocut.set_app_user(42);
SELECT current_setting('app.current_user_id') AS setting, zerocut.current_app_user_id();
COMMIT;
-- Gone at COMMIT: the setting is '' again (what a pooled connection keeps),
-- which reads as no user, without an error.
SELECT format('%L', current_setting('app.current_user_id')) AS after_commit, zerocut.current_app_user_id();
BEGIN;
SELECT zerocut.set_app_user(43);
ROLLBACK;
SELECT format('%L', current_setting('app.current_user_id')) AS after_rollback, zerocut.current_app_user_id();
-- Over a session-level SET, as SET LOCAL: the session's value is back after
-- the transaction.
SET app.current_user_id = '9';
BEGIN;
SELECT zerocut.set_app_user(44);
SELECT zerocut.current_app_user_id() AS in_transaction;
COMMIT;
SELECT zerocut.current_app_user_id() AS after_commit;
RESET app.current_user_id;
-- A savepoint rolled back takes the change back with it.
BEGIN;
SELECT zerocut.set_app_user(45);
SAVEPOINT s;
SELECT zerocut.set_app_user(46);
ROLLBACK TO SAVEPOINT s;
SELECT zerocut.current_app_user_id() AS after_rollback_to_savepoint;
COMMIT;
-- NULL clears the user for the transaction (sets '').
BEGIN;
SELECT zerocut.set_app_user(47);
SELECT zerocut.set_app_user(NULL);
SELECT format('%L', current_setting('app.current_user_id')) AS setting, zerocut.current_app_user_id();
COMMIT;
-- A zero or negative id is an error naming the argument; the user already
-- set stays.
BEGIN;
SELECT zerocut.set_app_user(48);
SELECT pg_temp.error_of('SELECT zerocut.set_app_user(0)');
SELECT pg_temp.error_of('SELECT zerocut.set_app_user(-1)');
SELECT pg_temp.error_of('SELECT zerocut.set_app_user(-2147483648)');
SELECT zerocut.current_app_user_id() AS still;
COMMIT;
-- Outside a transaction block, as SET LOCAL: the setting ends with the
-- statement, and a WARNING (SQLSTATE 25P01, like SET LOCAL's) says so.
SELECT zerocut.set_app_user(49);
SELECT zerocut.current_app_user_id() AS next_statement;
\set VERBOSITY sqlstate
SELECT zerocut.set_app_user(49);
\set VERBOSITY default
-- Within that one statement it holds (a DO block is one statement).
DO $$
BEGIN
    PERFORM zerocut.set_app_user(50);
    RAISE NOTICE 'in the DO block: %', zerocut.current_app_user_id();
END $$;
SELECT zerocut.current_app_user_id() AS after_do;
-- Several statements in one query string form one (implicit) transaction:
-- no warning, and the user holds until its end.
SELECT zerocut.set_app_user(51) \; SELECT zerocut.current_app_user_id() AS same_query_string;
SELECT zerocut.current_app_user_id() AS next_query_string;
SET LOCAL app.current_user_id = '52';   -- SET LOCAL's own warning, for comparison
SELECT zerocut.current_app_user_id() AS after_set_local;

-- ---------------------------------------------------------------------------
-- 3. As a role with no privilege but USAGE on schema zerocut (needed to
-- call them by name): both functions are open to PUBLIC, since the role
-- could SET app.current_user_id itself.
CREATE ROLE regress_ctx_app;
GRANT USAGE ON SCHEMA zerocut TO regress_ctx_app;
SET ROLE regress_ctx_app;
BEGIN;
SELECT zerocut.set_app_user(42);
SELECT current_user, zerocut.current_app_user_id();
COMMIT;
SELECT current_user, zerocut.current_app_user_id() AS after_commit;
RESET ROLE;

-- ---------------------------------------------------------------------------
-- 4. In a row-level security policy, written (SELECT ...) so it runs once
-- per query: a bad setting shows no rows and raises nothing.  The seed's
-- current_setting('app.current_user_id')::integer, for comparison, fails.
CREATE TABLE ctx_notes (id int PRIMARY KEY, owner_id int NOT NULL, note text);
INSERT INTO ctx_notes VALUES (1, 42, 'mine'), (2, 43, 'theirs'), (3, 42, 'mine too');
ALTER TABLE ctx_notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_notes ON ctx_notes USING (owner_id = (SELECT zerocut.current_app_user_id()));
CREATE TABLE ctx_seed_notes (LIKE ctx_notes);
INSERT INTO ctx_seed_notes SELECT * FROM ctx_notes;
ALTER TABLE ctx_seed_notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_notes ON ctx_seed_notes USING (owner_id = current_setting('app.current_user_id')::integer);
GRANT SELECT ON ctx_notes, ctx_seed_notes TO regress_ctx_app;
-- What the role sees for a setting (set for this statement's transaction).
CREATE FUNCTION pg_temp.visible(setting text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    ids text;
BEGIN
    PERFORM set_config('app.current_user_id', setting, true);
    SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '(none)') INTO ids FROM public.ctx_notes;
    RETURN ids;
END $$;
-- A plan as PostgreSQL 17 prints it (older versions print an InitPlan's
-- output as $0 where 17 prints (InitPlan 1).col1).
CREATE FUNCTION pg_temp.plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        RETURN NEXT replace(replace(line, 'InitPlan 1 (returns $0)', 'InitPlan 1'), '$0', '(InitPlan 1).col1');
    END LOOP;
END $$;
-- The policy needs no USAGE on schema zerocut (it holds the function by OID).
REVOKE USAGE ON SCHEMA zerocut FROM regress_ctx_app;
SET ROLE regress_ctx_app;
SELECT format('%L', v) AS setting, pg_temp.visible(v) AS visible_ids
FROM unnest(ARRAY['', '   ', 'abc', '-1', '0', '2147483648', '42', ' 42 ', '43']) WITH ORDINALITY AS u(v, n)
ORDER BY n;
SELECT count(*) AS visible_with_empty_setting FROM ctx_notes;   -- '' since the first set_config
BEGIN;
SET LOCAL app.current_user_id = '42';
SELECT id, note FROM ctx_notes ORDER BY id;
COMMIT;
SELECT count(*) AS visible_after_commit FROM ctx_notes;
SELECT pg_temp.error_of('SELECT count(*) FROM ctx_seed_notes') AS seed_policy_after_commit;
-- One InitPlan per query, not a call per row.
SELECT pg_temp.plan('SELECT * FROM ctx_notes');
RESET ROLE;

-- Clean up.
DROP TABLE ctx_notes, ctx_seed_notes;
DROP ROLE regress_ctx_app;

-- log_row_workspace(): the workspace of an audit row, NULL (never an error)
-- for anything that is not a plain int4.
SELECT m AS metadata, zerocut.log_row_workspace(m::jsonb) AS workspace
FROM (VALUES ('{"new_data": {"workspace_id": 7}}'), ('{"old_data": {"workspace_id": 2147483647}}'),
             ('{"new_data": {"workspace_id": 2147483648}}'), ('{"new_data": {"workspace_id": 99999999999}}'),
             ('{"new_data": {"workspace_id": -1}}'), ('{"new_data": {"workspace_id": "x"}}'),
             ('{"new_data": {"workspace_id": 1.5}}'), ('{"new_data": {"workspace_id": null}, "old_data": {"workspace_id": 3}}'),
             ('{"schema": "workspace_domain", "table": "workspace", "pk": {"id": 1000000000}}'),
             ('{"schema": "user_management", "table": "USER", "pk": {"id": 5}}'), ('{}')) AS v(m);
