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
-- Seed: GIN on metadata, over its envelope only: the audit trigger's row
-- images (old_data, new_data) stay out of the index, so a logged change adds
-- a handful of entries ({operation, schema, table, pk} or a system event's
-- own keys) instead of one per column.  jsonb_path_ops serves @> with a
-- smaller index than the default operator class.  Queries use the indexed
-- expression:  (metadata - '{old_data,new_data}'::text[]) @> '{...}'.
-- It replaces the seed's index on the whole of metadata (earlier installs).
DROP INDEX IF EXISTS audit_log.idx_system_log_metadata_gin;
CREATE INDEX IF NOT EXISTS idx_system_log_envelope_gin
    ON audit_log.system_log USING gin ((metadata - '{old_data,new_data}'::text[]) jsonb_path_ops);

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
CREATE INDEX IF NOT EXISTS idx_system_log_created
    ON audit_log.system_log (created_at);
