-- The C++/PostgreSQL boundary: every kind of error reaches the client with
-- its SQLSTATE, message, detail and hint; the session keeps working; no C++
-- object outlives a failed call; failing calls do not leak memory.
CREATE FUNCTION pg_temp.try(kind text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text; detail text; hint text;
BEGIN
    RETURN 'returned ' || zerocut.boundary_selftest(kind);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN format('%s | %s | %s | %s', state, msg, detail, hint);
END
$$;

SELECT kind, pg_temp.try(kind) AS outcome
FROM unnest(ARRAY['ok', 'cpp_error', 'cpp_std_exception', 'cpp_bad_alloc', 'cpp_unknown',
                  'pg_error', 'pg_spi_error', 'cpp_inside_guard', 'no_such_kind', NULL]) AS kind;

-- Errors reach the client directly too (not only through PL/pgSQL).
SELECT zerocut.boundary_selftest('cpp_error');
SELECT zerocut.boundary_selftest('pg_error');
SELECT zerocut.boundary_selftest('pg_spi_error');
-- A C++ exception thrown inside a guarded PostgreSQL call comes out as an
-- ERROR, not as a terminated backend.
SELECT zerocut.boundary_selftest('cpp_inside_guard');
-- ... and the session keeps working afterwards.
SELECT zerocut.boundary_selftest('ok');
-- No C++ object survived any of the failed calls.
SELECT zerocut.boundary_selftest('live_objects') AS live_cpp_objects;

-- An error inside a transaction aborts it like any PostgreSQL error.
BEGIN;
SELECT zerocut.boundary_selftest('pg_spi_error');
SELECT 1;
ROLLBACK;

-- 200,000 failing calls per kind, caught in PL/pgSQL, grow the backend's
-- memory by less than 1 MB.
CREATE FUNCTION pg_temp.backend_bytes() RETURNS bigint LANGUAGE sql AS
    'SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts';
CREATE FUNCTION pg_temp.growth_after_failures(kind text, calls int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    before bigint;
BEGIN
    FOR i IN 1..1000 LOOP  -- warm caches first
        BEGIN PERFORM zerocut.boundary_selftest(kind); EXCEPTION WHEN OTHERS THEN NULL; END;
    END LOOP;
    before := pg_temp.backend_bytes();
    FOR i IN 1..calls LOOP
        BEGIN PERFORM zerocut.boundary_selftest(kind); EXCEPTION WHEN OTHERS THEN NULL; END;
    END LOOP;
    RETURN pg_temp.backend_bytes() - before;
END
$$;
SELECT kind, pg_temp.growth_after_failures(kind, 200000) < 1024 * 1024 AS grew_less_than_1mb
FROM unnest(ARRAY['cpp_error', 'cpp_std_exception', 'pg_error', 'pg_spi_error', 'cpp_inside_guard']) AS kind;
SELECT zerocut.boundary_selftest('live_objects') AS live_cpp_objects;
