-- The extension installs into schema zerocut in a database with nothing else.
CREATE EXTENSION zerocut;
SELECT extname, extversion, extrelocatable, extnamespace::regnamespace
FROM pg_extension WHERE extname = 'zerocut';

-- version(): extension version, PostgreSQL major, fmt and OpenSSL.
SELECT zerocut.version() ~ '^zerocut 0\.2\.0 \(PostgreSQL 1[4-7], fmt [0-9]+\.[0-9]+\.[0-9]+, OpenSSL [0-9]' AS version_ok;
SELECT split_part(zerocut.version(), ' ', 4) = current_setting('server_version_num')::int / 10000 || ',' AS built_for_this_major;

-- Not relocatable: the schema is fixed.
CREATE SCHEMA elsewhere;
ALTER EXTENSION zerocut SET SCHEMA elsewhere;
DROP SCHEMA elsewhere;

-- The GUC prefix is reserved once the library is loaded.
SET zerocut.no_such_setting = 'x';
