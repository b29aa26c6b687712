-- Baseline: the usual PL/pgSQL updated_at trigger (what the seed's schema
-- uses for "自动更新时间戳").
CREATE OR REPLACE FUNCTION bench_plpgsql_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := CURRENT_TIMESTAMP;
    RETURN NEW;
END
$$;
