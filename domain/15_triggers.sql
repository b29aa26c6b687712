-- updated_at kept current by the C++ trigger zerocut.touch_updated_at().
-- Created only when missing, so a second run changes nothing.
DO $$
DECLARE
    target regclass;
BEGIN
    FOREACH target IN ARRAY ARRAY[
        'user_management."USER"', 'workspace_domain.workspace',
        'workspace_domain.user_workspace', 'financial_management.account',
        'api_management.api_key', 'data_statistics.usage_stats']::regclass[]
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger
                       WHERE tgrelid = target AND tgname = 'touch_updated_at'
                         AND tgparentid = 0) THEN
            EXECUTE pg_catalog.format(
                'CREATE TRIGGER touch_updated_at BEFORE UPDATE ON %s '
                'FOR EACH ROW EXECUTE FUNCTION zerocut.touch_updated_at()', target);
        END IF;
    END LOOP;
END
$$;
