-- zerocut install script, assembled from install/*.sql in name order.
-- This part: the foundation (version, boundary self-test, domain schema,
-- sample data, updated_at trigger).
\echo Use "CREATE EXTENSION zerocut" to load this file. \quit

CREATE FUNCTION zerocut.version() RETURNS text
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'zc_version';
COMMENT ON FUNCTION zerocut.version() IS
    'zerocut''s version, the PostgreSQL major it was built for, and the fmt and OpenSSL versions it links';

CREATE FUNCTION zerocut.boundary_selftest(kind text) RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_boundary_selftest';
COMMENT ON FUNCTION zerocut.boundary_selftest(text) IS
    'Diagnostic: raises one kind of error through the C++/PostgreSQL boundary (ok, live_objects, cpp_error, cpp_std_exception, cpp_bad_alloc, cpp_unknown, pg_error, pg_spi_error)';
REVOKE ALL ON FUNCTION zerocut.boundary_selftest(text) FROM PUBLIC;

CREATE FUNCTION zerocut.touch_updated_at() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_touch_updated_at';
COMMENT ON FUNCTION zerocut.touch_updated_at() IS
    'BEFORE UPDATE FOR EACH ROW trigger: sets updated_at (or the column named by the trigger argument) to the transaction timestamp';

CREATE FUNCTION zerocut.install_domain_schema() RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_install_domain_schema';
COMMENT ON FUNCTION zerocut.install_domain_schema() IS
    'Creates, idempotently, the SaaS domain schemas, tables, keys, indexes and triggers (not extension members); returns the SQL files applied';
REVOKE ALL ON FUNCTION zerocut.install_domain_schema() FROM PUBLIC;

CREATE FUNCTION zerocut.sample_hash(key bigint, seed integer) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (pg_catalog.hashint8extended(key, seed::bigint) & 2147483647)::integer;
COMMENT ON FUNCTION zerocut.sample_hash(bigint, integer) IS
    'Deterministic non-negative pseudo-random integer for (key, seed); the source of every value generate_sample_data() writes';

CREATE FUNCTION zerocut.generate_sample_data(workspaces integer DEFAULT 100, days integer DEFAULT 400,
                                             seed integer DEFAULT 42) RETURNS jsonb
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_generate_sample_data';
COMMENT ON FUNCTION zerocut.generate_sample_data(integer, integer, integer) IS
    'Fills the empty domain tables with deterministic sample data (3 members, 2 API keys, 1 account per workspace; daily usage and 5 consumption records per day); returns row counts';
REVOKE ALL ON FUNCTION zerocut.generate_sample_data(integer, integer, integer) FROM PUBLIC;
