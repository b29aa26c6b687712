\echo '== online copy (docs/online_copy.md): a table copied into a new shape while the application writes'
CREATE TABLE public.demo_orders (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL, note text);
INSERT INTO public.demo_orders SELECT g, 'customer ' || (g % 997), (g % 5000) / 7.0, NULL FROM generate_series(1, 100000) g;
CREATE TABLE public.demo_orders_v2 (id bigint PRIMARY KEY, customer text NOT NULL, amount_cents bigint NOT NULL,
                                    note text, currency text NOT NULL DEFAULT 'CNY');
CREATE VIEW public.demo_big_orders AS SELECT id, customer FROM public.demo_orders WHERE id % 10000 = 0;
\echo 'capture trigger, keyset batches of 20000 committed one by one, amount_cents from a column_map expression'
\timing on
CALL zerocut.online_copy('public.demo_orders', 'public.demo_orders_v2',
                         '{"amount_cents": "(amount * 100)::bigint"}', 20000);
\timing off
SELECT source, target, phase, rows_copied, batches, changes_pending, rows_per_second, last_key FROM zerocut.copy_progress;

\echo
\echo '== writes go on after (and during) the copy: their keys are captured'
UPDATE public.demo_orders SET note = 'changed' WHERE id % 10000 = 0;
DELETE FROM public.demo_orders WHERE id BETWEEN 500 AND 509;
INSERT INTO public.demo_orders VALUES (100001, 'late customer', 12.5, 'inserted during the copy');
SELECT count(*) AS captured_changes FROM zerocut.online_copy_log;

\echo
\echo '== finish: replay, verify (count + checksum of the columns copied by name), a short retried lock,'
\echo '   swap the names (the view follows), drop the capture'
SELECT source_name, target_name, verified_rows, replayed, target_rows, compared_columns, lock_attempts,
       round(lock_held_ms) AS lock_held_ms, details->'views' AS views_moved
FROM zerocut.online_copy_finish('public.demo_orders', 'public.demo_orders_v2', swap => true);
SELECT * FROM public.demo_big_orders ORDER BY id LIMIT 3;
SELECT id, customer, amount_cents, note, currency FROM public.demo_orders WHERE id IN (10000, 100001) ORDER BY id;

\echo
\echo '== migrate_user_data(): the domain''s "USER" already has the new shape, so nothing happens'
CALL zerocut.migrate_user_data();

\echo
\echo '== ... and on a legacy "USER" (the seed''s original shape: phone in clear) it migrates online:'
\echo '   USER_NEW with phone_encrypted (keyring key ''default''), phone_bidx, timezone, language, preferences'
CREATE SCHEMA legacy_demo;
CREATE TABLE legacy_demo."USER" (
    id serial PRIMARY KEY, email varchar(255) UNIQUE NOT NULL, password_hash varchar(255) NOT NULL,
    username varchar(100) NOT NULL, phone varchar(20), avatar_url text, email_verified boolean DEFAULT false,
    phone_verified boolean DEFAULT false, status user_management.user_status DEFAULT 'active',
    last_login_at timestamptz, login_attempts integer DEFAULT 0, locked_until timestamptz,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP, updated_at timestamptz DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE legacy_demo.user_workspace (id serial PRIMARY KEY,
                                         user_id int NOT NULL REFERENCES legacy_demo."USER" (id) ON DELETE CASCADE);
INSERT INTO legacy_demo."USER" (email, password_hash, username, phone)
SELECT 'legacy' || g || '@example.com', 'hash', 'legacy' || g, '+86 138 ' || lpad(g::text, 8, '0')
FROM generate_series(1, 5000) g;
INSERT INTO legacy_demo.user_workspace (user_id) SELECT g FROM generate_series(1, 5000, 2) g;
CALL zerocut.migrate_user_data('legacy_demo."USER"');
SELECT id, phone, length(phone_encrypted) AS encrypted_bytes,
       zerocut.decrypt(phone_encrypted, 'legacy_demo.USER.phone') AS decrypted, timezone, language, preferences
FROM legacy_demo."USER" ORDER BY id LIMIT 3;
SELECT username FROM legacy_demo."USER" WHERE phone_bidx = zerocut.blind_index('+86 138 00000042');
SELECT conname, confrelid::regclass AS references, convalidated FROM pg_constraint
WHERE conrelid = 'legacy_demo.user_workspace'::regclass AND contype = 'f';

DROP SCHEMA legacy_demo CASCADE;
DROP VIEW public.demo_big_orders;
DROP TABLE public.demo_orders, public.demo_orders_old;
