-- DROP EXTENSION zerocut says what goes with it (issue 15): protected
-- columns (their triggers go with CASCADE: new values would be stored in
-- clear), encryption keys, managed partitioned tables, archive policies,
-- audited tables.  CREATE EXTENSION + install_domain_schema() restore the
-- domain's own setup.
COPY (SELECT encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex'))
    TO PROGRAM 'rm -f zc_regress_drop.key && umask 077 && cat > zc_regress_drop.key';
SET zerocut.key_file = 'zc_regress_drop.key';
SELECT zerocut.create_key('default') > 0 AS created, zerocut.create_key('billing') > 0 AS created;
CREATE TABLE crypto_drop (id int, secret text);
SELECT zerocut.protect_column('crypto_drop', 'secret') IS NOT NULL AS protected;
-- Another extension's DROP says nothing.
CREATE EXTENSION pgcrypto;
DROP EXTENSION pgcrypto;
-- The WARNING comes before anything is dropped (the cascade's NOTICE is hidden).
SET client_min_messages = warning;
DROP EXTENSION zerocut CASCADE;
RESET client_min_messages;
-- As it said: the trigger is gone, a new value is stored in clear.
INSERT INTO crypto_drop VALUES (1, 'stored in clear');
SELECT secret, secret_encrypted IS NULL AS not_encrypted FROM crypto_drop;
-- With nothing configured, no WARNING.
CREATE EXTENSION zerocut;
DROP EXTENSION zerocut;
-- Leave the database as it was: the extension and the domain's setup.
CREATE EXTENSION zerocut;
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;
SELECT count(*) AS partition_configs, (SELECT count(*) FROM zerocut.audit_config) AS audited,
       (SELECT count(*) FROM zerocut.archive_policy) AS archive_policies
FROM zerocut.partition_config;
DROP TABLE crypto_drop;
RESET zerocut.key_file;
SET client_min_messages = warning;  -- the cascade list names monthly partitions
TRUNCATE audit_log.system_log CASCADE;
RESET client_min_messages;
COPY (SELECT 1) TO PROGRAM 'cat > /dev/null; rm -f zc_regress_drop.key';
