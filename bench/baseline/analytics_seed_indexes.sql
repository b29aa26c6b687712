-- Baseline variant: the seed's own index set.  domain/20_indexes.sql adds
-- indexes the seed never created; the dashboard queries use two of them
-- (memberships and API keys by workspace and status).  Dropping every
-- non-seed index leaves the seed's composite, partial, expression and GIN
-- indexes plus the tables' keys, as the seed had them.
DROP INDEX IF EXISTS workspace_domain.idx_user_workspace_workspace_status;
DROP INDEX IF EXISTS api_management.idx_api_key_workspace_status;
DROP INDEX IF EXISTS api_management.idx_api_key_user;
DROP INDEX IF EXISTS workspace_domain.idx_workspace_owner;
DROP INDEX IF EXISTS financial_management.idx_consumption_record_created;
DROP INDEX IF EXISTS audit_log.idx_system_log_created;
ANALYZE workspace_domain.user_workspace, api_management.api_key;
