-- This part: encryption (docs/crypto.md).  Seed-compatible pgcrypto wrappers,
-- and a keyring: data keys wrapped by a server-held root key (GUC
-- zerocut.key_file), AES-256-GCM envelopes, rotation, blind indexes and
-- column protection.

CREATE SEQUENCE zerocut.encryption_keys_id_seq AS integer;
CREATE TABLE zerocut.encryption_keys (
    id          integer PRIMARY KEY DEFAULT nextval('zerocut.encryption_keys_id_seq'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 63),
    version     integer NOT NULL CHECK (version > 0),
    status      text NOT NULL CHECK (status IN ('active', 'retired')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    wrapped_key bytea NOT NULL CHECK (length(wrapped_key) = 60),
    UNIQUE (name, version)
);
ALTER SEQUENCE zerocut.encryption_keys_id_seq OWNED BY zerocut.encryption_keys.id;
CREATE UNIQUE INDEX encryption_keys_one_active ON zerocut.encryption_keys (name) WHERE status = 'active';
COMMENT ON TABLE zerocut.encryption_keys IS
    'Data keys of the keyring: each version of a named key, AES-256-GCM-wrapped by the root key in zerocut.key_file (useless without it); kept by pg_dump';
REVOKE ALL ON TABLE zerocut.encryption_keys FROM PUBLIC;
REVOKE ALL ON SEQUENCE zerocut.encryption_keys_id_seq FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('zerocut.encryption_keys', '');

CREATE FUNCTION zerocut.keyring_invalidate() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_keyring_invalidate';
COMMENT ON FUNCTION zerocut.keyring_invalidate() IS
    'Statement trigger on zerocut.encryption_keys and zerocut.key_grant: any change (rotation, a grant, manual DML, restore) invalidates every backend''s key or grant cache';
CREATE TRIGGER keyring_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON zerocut.encryption_keys
    FOR EACH STATEMENT EXECUTE FUNCTION zerocut.keyring_invalidate();
SELECT pg_catalog.pg_extension_config_dump('zerocut.encryption_keys_id_seq', '');

-- Blind indexes are derived from version 1 of a key: it may not go while
-- other versions of the key remain (deleting every version drops the key).
CREATE FUNCTION zerocut.encryption_keys_keep_first_version() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    orphan text;
BEGIN
    SELECT o.name INTO orphan
    FROM old_keys o
    WHERE o.version = 1
      AND EXISTS (SELECT FROM zerocut.encryption_keys k WHERE k.name = o.name)
      AND NOT EXISTS (SELECT FROM zerocut.encryption_keys k WHERE k.name = o.name AND k.version = 1)
    LIMIT 1;
    IF orphan IS NOT NULL THEN
        RAISE EXCEPTION 'version 1 of encryption key "%" cannot be removed while other versions of it remain', orphan
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = 'The blind indexes of a key (zerocut.blind_index(), protect_column()) are derived from its version 1.',
                  HINT = 'Delete every version of the key to drop it, or keep version 1.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION zerocut.encryption_keys_keep_first_version() IS
    'Statement trigger on zerocut.encryption_keys: refuses a DELETE or UPDATE that removes version 1 of a key while other versions remain (its blind indexes are derived from version 1)';
REVOKE ALL ON FUNCTION zerocut.encryption_keys_keep_first_version() FROM PUBLIC;
CREATE TRIGGER keep_first_version_on_delete AFTER DELETE ON zerocut.encryption_keys
    REFERENCING OLD TABLE AS old_keys
    FOR EACH STATEMENT EXECUTE FUNCTION zerocut.encryption_keys_keep_first_version();
CREATE TRIGGER keep_first_version_on_update AFTER UPDATE ON zerocut.encryption_keys
    REFERENCING OLD TABLE AS old_keys
    FOR EACH STATEMENT EXECUTE FUNCTION zerocut.encryption_keys_keep_first_version();

CREATE FUNCTION zerocut.create_key(name text) RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_create_key';
COMMENT ON FUNCTION zerocut.create_key(text) IS
    'Creates a named data key (random 256 bits, wrapped by the root key in zerocut.key_file) as version 1; returns its id';
REVOKE ALL ON FUNCTION zerocut.create_key(text) FROM PUBLIC;

CREATE FUNCTION zerocut.rotate_key(name text) RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_rotate_key';
COMMENT ON FUNCTION zerocut.rotate_key(text) IS
    'Makes a new version of a named data key active; older versions stay (retired) and still decrypt; returns the new id';
REVOKE ALL ON FUNCTION zerocut.rotate_key(text) FROM PUBLIC;

CREATE FUNCTION zerocut.encrypt(data text, key_name text DEFAULT 'default', context text DEFAULT NULL) RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_encrypt';
COMMENT ON FUNCTION zerocut.encrypt(text, text, text) IS
    'AES-256-GCM envelope of text under the active version of key_name, random nonce, context bound as associated data; NULL data gives NULL';
REVOKE ALL ON FUNCTION zerocut.encrypt(text, text, text) FROM PUBLIC;

CREATE FUNCTION zerocut.encrypt(data bytea, key_name text DEFAULT 'default', context text DEFAULT NULL) RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_encrypt_bytea';
COMMENT ON FUNCTION zerocut.encrypt(bytea, text, text) IS
    'AES-256-GCM envelope of bytea under the active version of key_name, random nonce, context bound as associated data; NULL data gives NULL';
REVOKE ALL ON FUNCTION zerocut.encrypt(bytea, text, text) FROM PUBLIC;

CREATE FUNCTION zerocut.decrypt(ciphertext bytea, context text DEFAULT NULL) RETURNS text
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_decrypt';
COMMENT ON FUNCTION zerocut.decrypt(bytea, text) IS
    'Decrypts a zerocut.encrypt() text envelope (key found from its header); tampering, truncation, wrong context or unknown key is an ERROR';
REVOKE ALL ON FUNCTION zerocut.decrypt(bytea, text) FROM PUBLIC;

CREATE FUNCTION zerocut.decrypt_bytea(ciphertext bytea, context text DEFAULT NULL) RETURNS bytea
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_decrypt_bytea';
COMMENT ON FUNCTION zerocut.decrypt_bytea(bytea, text) IS
    'Decrypts a zerocut.encrypt() envelope to bytea (key found from its header); tampering, truncation, wrong context or unknown key is an ERROR';
REVOKE ALL ON FUNCTION zerocut.decrypt_bytea(bytea, text) FROM PUBLIC;

CREATE FUNCTION zerocut.reencrypt(ciphertext bytea, context text DEFAULT NULL) RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_reencrypt';
COMMENT ON FUNCTION zerocut.reencrypt(bytea, text) IS
    'Re-encrypts an envelope under the active version of its key (same context); unchanged when already active';
REVOKE ALL ON FUNCTION zerocut.reencrypt(bytea, text) FROM PUBLIC;

CREATE FUNCTION zerocut.blind_index(data text, key_name text DEFAULT 'default') RETURNS bytea
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_blind_index';
COMMENT ON FUNCTION zerocut.blind_index(text, text) IS
    'HMAC-SHA256 of data under a blind-index key derived from the first version of key_name (stable across rotation), for equality search on encrypted columns';
REVOKE ALL ON FUNCTION zerocut.blind_index(text, text) FROM PUBLIC;

CREATE FUNCTION zerocut.blind_index(data bytea, key_name text DEFAULT 'default') RETURNS bytea
    LANGUAGE c STABLE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'zc_blind_index';
COMMENT ON FUNCTION zerocut.blind_index(bytea, text) IS
    'HMAC-SHA256 of bytes under the blind-index key of key_name (what protect_column writes for a bytea column); equal to the text version for the same bytes';
REVOKE ALL ON FUNCTION zerocut.blind_index(bytea, text) FROM PUBLIC;

-- Keys per role (issue 17): EXECUTE on encrypt()/decrypt() says which
-- functions a role may call, zerocut.key_grant with which keys.  Written only
-- by grant_key()/revoke_key() (superusers and the extension's owner), read by
-- the C++ as the extension's owner.  grantee is a regrole: a role dropped and
-- made again under the same name does not inherit the grants, and pg_dump
-- writes (and restores) the role by name.
CREATE TABLE zerocut.key_grant (
    key_name    text NOT NULL,
    grantee     regrole NOT NULL,
    can_encrypt boolean NOT NULL,
    can_decrypt boolean NOT NULL,
    PRIMARY KEY (key_name, grantee),
    CHECK (can_encrypt OR can_decrypt)
);
COMMENT ON TABLE zerocut.key_grant IS
    'Who may use which key: roles with the privileges of grantee may encrypt/blind-index (can_encrypt) and decrypt (can_decrypt) under every version of key_name; written by grant_key()/revoke_key(); kept by pg_dump';
REVOKE ALL ON TABLE zerocut.key_grant FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('zerocut.key_grant', '');
CREATE TRIGGER keyring_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON zerocut.key_grant
    FOR EACH STATEMENT EXECUTE FUNCTION zerocut.keyring_invalidate();

CREATE FUNCTION zerocut.grant_key(key_name text, role name, encrypt boolean DEFAULT true, decrypt boolean DEFAULT true)
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_grant_key';
COMMENT ON FUNCTION zerocut.grant_key(text, name, boolean, boolean) IS
    'Lets role (and the roles with its privileges) use every version of key_name: encrypt and blind_index (encrypt), decrypt (decrypt); adds to its rights; superusers and the extension owner only';
REVOKE ALL ON FUNCTION zerocut.grant_key(text, name, boolean, boolean) FROM PUBLIC;

CREATE FUNCTION zerocut.revoke_key(key_name text, role name, encrypt boolean DEFAULT true, decrypt boolean DEFAULT true)
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_revoke_key';
COMMENT ON FUNCTION zerocut.revoke_key(text, name, boolean, boolean) IS
    'Takes the named rights on key_name from role (a grant left with neither is deleted); superusers and the extension owner only';
REVOKE ALL ON FUNCTION zerocut.revoke_key(text, name, boolean, boolean) FROM PUBLIC;

-- The registry of protected columns, written by protect_column() as the
-- extension's owner; protect_column_trigger() works only for what it
-- records, and the audit trigger redacts every column in it.
CREATE TABLE zerocut.protected_column (
    relation           regclass NOT NULL,
    column_name        name NOT NULL,
    key_name           text NOT NULL,
    context            text NOT NULL,
    blind_index_column name,
    keep_plaintext     boolean NOT NULL,
    protected_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (relation, column_name)
);
COMMENT ON TABLE zerocut.protected_column IS
    'Columns protected by protect_column(): key, context (bound into every ciphertext), blind-index column, keep_plaintext; the protect trigger refuses any relation or column not recorded here, the audit trigger redacts them. Kept by pg_dump';
REVOKE ALL ON TABLE zerocut.protected_column FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('zerocut.protected_column', '');

CREATE FUNCTION zerocut.protected_column_invalidate() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_protected_column_invalidate';
COMMENT ON FUNCTION zerocut.protected_column_invalidate() IS
    'Statement trigger on zerocut.protected_column: any change invalidates every backend''s relcache, so the protect triggers and the audit trigger''s redacted columns see it at once';
REVOKE ALL ON FUNCTION zerocut.protected_column_invalidate() FROM PUBLIC;
CREATE TRIGGER protected_column_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON zerocut.protected_column
    FOR EACH STATEMENT EXECUTE FUNCTION zerocut.protected_column_invalidate();

-- A dropped table leaves the registry (its OID could otherwise be reused).
CREATE FUNCTION zerocut.protected_column_forget_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped pg_catalog.oid[];
BEGIN
    SELECT pg_catalog.array_agg(p.relation::pg_catalog.oid) INTO dropped
    FROM zerocut.protected_column p
    JOIN pg_catalog.pg_event_trigger_dropped_objects() d
      ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
     AND d.objid = p.relation::pg_catalog.oid;
    IF dropped IS NOT NULL THEN  -- (a DELETE of nothing would still flush every relcache)
        DELETE FROM zerocut.protected_column WHERE relation::pg_catalog.oid = ANY (dropped);
    END IF;
END
$$;
COMMENT ON FUNCTION zerocut.protected_column_forget_dropped() IS
    'sql_drop event trigger function: deletes the protected_column rows of dropped tables';
REVOKE ALL ON FUNCTION zerocut.protected_column_forget_dropped() FROM PUBLIC;
CREATE EVENT TRIGGER zerocut_protected_column_forget_dropped ON sql_drop
    EXECUTE FUNCTION zerocut.protected_column_forget_dropped();
COMMENT ON EVENT TRIGGER zerocut_protected_column_forget_dropped IS
    'Deletes the protected_column rows of a dropped table (DROP TABLE, DROP SCHEMA ... CASCADE, DROP OWNED)';

-- DROP EXTENSION zerocut says what it drops (configuration and keys are
-- extension tables; the protect triggers go with CASCADE).
CREATE FUNCTION zerocut.warn_drop_extension() RETURNS event_trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_warn_drop_extension';
COMMENT ON FUNCTION zerocut.warn_drop_extension() IS
    'ddl_command_start event trigger function: before DROP EXTENSION zerocut, a WARNING with the protected columns, encryption keys, managed partitioned tables, archive policies and audited tables that go with it';
REVOKE ALL ON FUNCTION zerocut.warn_drop_extension() FROM PUBLIC;
CREATE EVENT TRIGGER zerocut_warn_drop_extension ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION')
    EXECUTE FUNCTION zerocut.warn_drop_extension();
COMMENT ON EVENT TRIGGER zerocut_warn_drop_extension IS
    'Warns, before DROP EXTENSION zerocut, what configuration and keys it drops';

CREATE FUNCTION zerocut.protect_column_trigger() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'zc_protect_column_trigger';
COMMENT ON FUNCTION zerocut.protect_column_trigger() IS
    'BEFORE INSERT OR UPDATE row trigger made by protect_column(): encrypts <col> into <col>_encrypted (never twice), writes <col>_bidx, blanks <col> unless keep_plaintext; refuses (42501) a relation or column not recorded in zerocut.protected_column';
REVOKE ALL ON FUNCTION zerocut.protect_column_trigger() FROM PUBLIC;

CREATE FUNCTION zerocut.protect_column(tbl regclass, col name, key_name text DEFAULT 'default',
                                       blind_index boolean DEFAULT true, keep_plaintext boolean DEFAULT false)
    RETURNS jsonb
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_protect_column';
COMMENT ON FUNCTION zerocut.protect_column(regclass, name, text, boolean, boolean) IS
    'Adds <col>_encrypted (reusing an empty or zerocut-encrypted bytea column), <col>_bidx with an index, and the encrypting trigger; existing rows: CALL encrypt_column_backfill()';
REVOKE ALL ON FUNCTION zerocut.protect_column(regclass, name, text, boolean, boolean) FROM PUBLIC;

CREATE FUNCTION zerocut.encrypt_column_batch(tbl regclass, col name, start_block bigint, end_block bigint,
                                             batch_size integer, OUT next_block bigint, OUT end_block bigint,
                                             OUT rows_encrypted bigint)
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'zc_encrypt_column_batch';
COMMENT ON FUNCTION zerocut.encrypt_column_batch(regclass, name, bigint, bigint, integer) IS
    'One batch of encrypt_column_backfill(): encrypts the pending rows of a block range of a protected column; next_block NULL when done';
REVOKE ALL ON FUNCTION zerocut.encrypt_column_batch(regclass, name, bigint, bigint, integer) FROM PUBLIC;

-- PL/pgSQL only for the loop: a procedure may COMMIT between batches only
-- when it has no SET clause, so every name in it is schema-qualified.
CREATE PROCEDURE zerocut.encrypt_column_backfill(tbl regclass, col name, batch_size integer DEFAULT 5000)
    LANGUAGE plpgsql
    AS $$
DECLARE
    next_block bigint := 0;
    last_block bigint;
    total bigint := 0;
    step record;
BEGIN
    LOOP
        SELECT * INTO step FROM zerocut.encrypt_column_batch(tbl, col, next_block, last_block, batch_size);
        total := total OPERATOR(pg_catalog.+) step.rows_encrypted;
        last_block := step.end_block;
        COMMIT;
        EXIT WHEN step.next_block IS NULL;
        next_block := step.next_block;
    END LOOP;
    RAISE NOTICE 'zerocut: encrypted % rows of %.%', total, tbl, pg_catalog.quote_ident(col);
END
$$;
COMMENT ON PROCEDURE zerocut.encrypt_column_backfill(regclass, name, integer) IS
    'Encrypts the existing rows of a protected column in committed batches of about batch_size rows (resumable; CALL it outside a transaction block)';
REVOKE ALL ON PROCEDURE zerocut.encrypt_column_backfill(regclass, name, integer) FROM PUBLIC;

CREATE FUNCTION zerocut.encrypt_sensitive_data(data text, key text) RETURNS bytea
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'zc_encrypt_sensitive_data';
COMMENT ON FUNCTION zerocut.encrypt_sensitive_data(text, text) IS
    'Seed-compatible: pgcrypto pgp_sym_encrypt(data, key) (needs CREATE EXTENSION pgcrypto); the key travels in SQL, prefer zerocut.encrypt()';

CREATE FUNCTION zerocut.decrypt_sensitive_data(encrypted_data bytea, key text) RETURNS text
    LANGUAGE c STABLE STRICT
    AS 'MODULE_PATHNAME', 'zc_decrypt_sensitive_data';
COMMENT ON FUNCTION zerocut.decrypt_sensitive_data(bytea, text) IS
    'Seed-compatible: pgcrypto pgp_sym_decrypt(encrypted_data, key) (needs CREATE EXTENSION pgcrypto); wrong key is an ERROR showing neither key nor data';
