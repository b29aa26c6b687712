-- Baseline: the seed's audit_trigger_function() ("审计日志增强"), as written
-- there, with the one change it needs to run at all: the seed's
-- COALESCE(current_setting('app.current_user_id', true)::INTEGER, 0) fails on
-- '' (the value after a SET LOCAL ends), so the setting is read with NULLIF.
-- Full old and new rows as json, cast to the log's jsonb column.
CREATE OR REPLACE FUNCTION bench_seed_audit_trigger_function()
RETURNS TRIGGER AS $$
DECLARE
    old_data JSON;
    new_data JSON;
    user_id INTEGER;
BEGIN
    user_id := COALESCE(NULLIF(current_setting('app.current_user_id', true), '')::INTEGER, 0);

    IF TG_OP = 'DELETE' THEN
        old_data := row_to_json(OLD);
        INSERT INTO audit_log.system_log (level, message, metadata, user_id)
        VALUES ('INFO', TG_TABLE_NAME || ' record deleted',
                json_build_object(
                    'operation', 'DELETE',
                    'table', TG_TABLE_NAME,
                    'old_data', old_data
                ), user_id);
        RETURN OLD;
    ELSIF TG_OP = 'UPDATE' THEN
        old_data := row_to_json(OLD);
        new_data := row_to_json(NEW);
        INSERT INTO audit_log.system_log (level, message, metadata, user_id)
        VALUES ('INFO', TG_TABLE_NAME || ' record updated',
                json_build_object(
                    'operation', 'UPDATE',
                    'table', TG_TABLE_NAME,
                    'old_data', old_data,
                    'new_data', new_data
                ), user_id);
        RETURN NEW;
    ELSIF TG_OP = 'INSERT' THEN
        new_data := row_to_json(NEW);
        INSERT INTO audit_log.system_log (level, message, metadata, user_id)
        VALUES ('INFO', TG_TABLE_NAME || ' record created',
                json_build_object(
                    'operation', 'INSERT',
                    'table', TG_TABLE_NAME,
                    'new_data', new_data
                ), user_id);
        RETURN NEW;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
