-- The seed's migrate_user_data() (seed section 数据迁移方案), re-written for
-- the benchmark: the same loop -- count(*), then INSERT ... SELECT ... ORDER
-- BY id LIMIT 1000 OFFSET n until n reaches the count, a NOTICE per batch,
-- all in one function call (one transaction) -- made per source table with
-- static SQL as in the seed, so PL/pgSQL caches its plan.  Without the
-- seed's encrypt_sensitive_data(phone, 'migration-key') (pgcrypto, ~0.3 ms a
-- row, which would hide the batching): both sides copy the same columns.
CREATE OR REPLACE FUNCTION bench_seed_make(src text, dst text) RETURNS void LANGUAGE plpgsql AS $make$
BEGIN
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION %I() RETURNS void AS $$
DECLARE
    batch_size INTEGER := 1000;
    offset_val INTEGER := 0;
    total_count INTEGER;
BEGIN
    SELECT COUNT(*) INTO total_count FROM %I;
    WHILE offset_val < total_count LOOP
        INSERT INTO %I (id, email, password_hash, username, phone, status, login_attempts, created_at, updated_at)
        SELECT id, email, password_hash, username, phone, status, login_attempts, created_at, updated_at
        FROM %I
        ORDER BY id
        LIMIT batch_size OFFSET offset_val;
        offset_val := offset_val + batch_size;
        RAISE NOTICE 'Migrated %% of %% records', offset_val, total_count;
    END LOOP;
END;
$$ LANGUAGE plpgsql$f$, 'bench_seed_migrate_' || src, src, dst, src);
END
$make$;
