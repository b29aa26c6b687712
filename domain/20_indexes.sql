-- Indexes: the seed's composite, partial, expression and GIN indexes, plus
-- the ones its queries need (memberships and API keys by workspace, foreign
-- keys).  Plain CREATE INDEX: CONCURRENTLY cannot run inside a function.

-- Seed: composite.
CREATE INDEX IF NOT EXISTS idx_usage_stats_workspace_date_calls
    ON data_statistics.usage_stats (workspace_id, date DESC, api_calls DESC);
CREATE INDEX IF NOT EXISTS idx_consumption_record_workspace_created
    ON financial_management.consumption_record (workspace_id, created_at DESC)
    WHERE amount > 0;
-- Seed: partial, only active rows.
CREATE INDEX IF NOT EXISTS idx_user_active_email
    ON user_management."USER" (email) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS idx_workspace_active_code
    ON workspace_domain.workspace (code) WHERE status = 'active';
-- Seed: expression.
CREATE INDEX IF NOT EXISTS idx_user_email_lower
    ON user_management."USER" (lower(email));
-- Seed: GIN on metadata, with zerocut's operator class jsonb_log_ops: plain
-- metadata @> '{...}' queries use it, and an audit row adds one key per
-- primary-key column (its table and key value) however wide the row; a table alone is a range of
-- keys, a system event's own keys are indexed as jsonb_path_ops would.  Row
-- images and operation/schema are only rechecked (docs/audit.md).  It
-- replaces the seed's jsonb_ops index of that name and the envelope
-- expression index of earlier zerocut installs.
DROP INDEX IF EXISTS audit_log.idx_system_log_envelope_gin;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_index i
               JOIN pg_catalog.pg_opclass c ON c.oid = i.indclass[0]
               WHERE i.indexrelid = pg_catalog.to_regclass('audit_log.idx_system_log_metadata_gin')
                 AND NOT (c.opcname = 'jsonb_log_ops' AND c.opcnamespace = 'zerocut'::pg_catalog.regnamespace
                          AND i.indisvalid AND i.indexprs IS NULL AND i.indpred IS NULL
                          AND i.indrelid = 'audit_log.system_log'::pg_catalog.regclass AND i.indnatts = 1
                          AND i.indkey[0] = (SELECT attnum FROM pg_catalog.pg_attribute
                                             WHERE attrelid = i.indrelid AND attname = 'metadata'))) THEN
        DROP INDEX audit_log.idx_system_log_metadata_gin;
    END IF;
END
$$;
CREATE INDEX IF NOT EXISTS idx_system_log_metadata_gin
    ON audit_log.system_log USING gin (metadata zerocut.jsonb_log_ops);

-- What the seed's queries need and it never created.
CREATE INDEX IF NOT EXISTS idx_user_workspace_workspace_status
    ON workspace_domain.user_workspace (workspace_id, status);
CREATE INDEX IF NOT EXISTS idx_api_key_workspace_status
    ON api_management.api_key (workspace_id, status);
CREATE INDEX IF NOT EXISTS idx_api_key_user
    ON api_management.api_key (user_id);
CREATE INDEX IF NOT EXISTS idx_workspace_owner
    ON workspace_domain.workspace (owner_id);
CREATE INDEX IF NOT EXISTS idx_consumption_record_created
    ON financial_management.consumption_record (created_at);
-- Time-ordered log reads: a log keyed (created_at, id) has them from its
-- primary key; one keyed (id, created_at) (installs before that) keeps a
-- btree on created_at.
DO $$
BEGIN
    IF (SELECT a.attname FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = 'audit_log.system_log'::pg_catalog.regclass AND i.indisprimary) = 'created_at' THEN
        DROP INDEX IF EXISTS audit_log.idx_system_log_created;
    ELSE
        CREATE INDEX IF NOT EXISTS idx_system_log_created ON audit_log.system_log (created_at);
    END IF;
END
$$;
