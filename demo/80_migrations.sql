\echo '== migrations: install_domain_schema() recorded its own steps in the ledger'
SELECT version, left(checksum, 16) AS checksum, applied_by, has_rollback
FROM zerocut.migration_status() WHERE version LIKE 'zerocut.domain.%';

\echo
\echo '== apply_migration(): runs once, recorded with the sha256 of its SQL'
SELECT zerocut.apply_migration('2024.1', 'user preferences index',
    'CREATE INDEX idx_user_timezone ON user_management."USER" (timezone);',
    'DROP INDEX user_management.idx_user_timezone;') AS applied;
\echo '   the same again: false, with a NOTICE, nothing runs'
SELECT zerocut.apply_migration('2024.1', 'user preferences index',
    'CREATE INDEX idx_user_timezone ON user_management."USER" (timezone);',
    'DROP INDEX user_management.idx_user_timezone;') AS applied;

\echo
\echo '== the same version with other SQL, and a failing migration: errors that name the version and keep the SQLSTATE'
DO $$
BEGIN
    PERFORM zerocut.apply_migration('2024.1', 'user preferences index',
        'CREATE INDEX idx_user_timezone ON user_management."USER" (timezone, language);', NULL);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '% | %', SQLSTATE, SQLERRM;
END
$$;
DO $$
BEGIN
    PERFORM zerocut.apply_migration('2024.2', 'half a migration',
        'CREATE TABLE public.demo_half (id integer); ALTER TABLE public.demo_half ADD COLUMN id integer;', NULL);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '% | %', SQLSTATE, SQLERRM;
END
$$;
SELECT to_regclass('public.demo_half') AS half_made_table,
       EXISTS (SELECT FROM zerocut.migration_status() WHERE version = '2024.2') AS recorded;

\echo
\echo '== migration_status(): applied versions in order (the rollback SQL itself is not shown)'
SELECT version, description, left(checksum, 16) AS checksum, has_rollback
FROM zerocut.migration_status() WHERE version NOT LIKE 'zerocut.%';

\echo
\echo '== rollback_migration(): runs the recorded rollback SQL and removes the row'
SELECT zerocut.rollback_migration('2024.1') AS rolled_back;
SELECT to_regclass('user_management.idx_user_timezone') AS index_left,
       count(*) AS user_migrations_left FROM zerocut.migration_status() WHERE version NOT LIKE 'zerocut.%';
