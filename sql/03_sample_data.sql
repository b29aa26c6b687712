-- generate_sample_data(): deterministic, realistic, refuses bad arguments.
SELECT zerocut.install_domain_schema() IS NOT NULL AS installed;

-- Bad arguments: clear errors naming the argument, nothing written.
SELECT zerocut.generate_sample_data(NULL);
SELECT zerocut.generate_sample_data(0);
SELECT zerocut.generate_sample_data(-5);
SELECT zerocut.generate_sample_data(10, 0);
SELECT zerocut.generate_sample_data(10, 3661);
SELECT zerocut.generate_sample_data(10, 10, NULL);
SELECT zerocut.generate_sample_data(100000, 3660);
SELECT count(*) AS users_after_errors FROM user_management."USER";

SELECT zerocut.generate_sample_data(20, 30, 7);

-- Shape per workspace: 3 members (one owner), 2 keys, 1 account, one usage
-- row per day, 5 consumption records per day inside the window.
SELECT count(*) FILTER (WHERE members = 3 AND owners = 1) AS workspaces_with_3_members_1_owner
FROM (SELECT workspace_id, count(*) AS members, count(*) FILTER (WHERE is_owner) AS owners
      FROM workspace_domain.user_workspace GROUP BY 1) m;
SELECT count(DISTINCT workspace_id) AS workspaces_with_keys, count(*) AS keys FROM api_management.api_key;
SELECT count(*) AS accounts, min(balance) >= 0 AS balances_non_negative FROM financial_management.account;
SELECT count(*) AS usage_rows, count(DISTINCT (workspace_id, date)) AS distinct_days,
       min(date) = CURRENT_DATE - 29 AS starts_29_days_ago, max(date) = CURRENT_DATE AS ends_today
FROM data_statistics.usage_stats;
SELECT count(*) AS consumption_rows,
       min(created_at) >= CURRENT_DATE - 29 AS inside_window,
       max(created_at) < CURRENT_DATE + 1 AS not_in_future,
       count(*) FILTER (WHERE amount = 0) > 0 AS some_zero_amounts,
       count(DISTINCT model) AS models
FROM financial_management.consumption_record;
SELECT status, count(*) > 0 AS present FROM user_management."USER" GROUP BY 1 ORDER BY 1;
-- Ids keep working after the explicit inserts.
INSERT INTO workspace_domain.workspace (name, code) VALUES ('next', 'next') RETURNING id;
DELETE FROM workspace_domain.workspace WHERE code = 'next';

-- A second call into filled tables is refused.
SELECT zerocut.generate_sample_data(1, 1);

-- Deterministic: the same arguments give the same data.
CREATE TEMP TABLE fingerprint AS
SELECT (SELECT md5(string_agg(email || phone || status || language, ',' ORDER BY id)) FROM user_management."USER") AS users,
       (SELECT md5(string_agg(workspace_id || ':' || date || ':' || api_calls || ':' || tokens_used || ':' || cost_amount, ',' ORDER BY workspace_id, date)) FROM data_statistics.usage_stats) AS usage,
       (SELECT md5(string_agg(workspace_id || ':' || amount || ':' || model || ':' || created_at, ',' ORDER BY created_at, workspace_id, amount)) FROM financial_management.consumption_record) AS consumption,
       (SELECT md5(string_agg(balance::text, ',' ORDER BY id)) FROM financial_management.account) AS accounts;
SET client_min_messages = warning;  -- the cascade list names monthly partitions
TRUNCATE user_management."USER", workspace_domain.workspace, financial_management.consumption_record CASCADE;
RESET client_min_messages;
SELECT zerocut.generate_sample_data(20, 30, 7);
SELECT f.users = (SELECT md5(string_agg(email || phone || status || language, ',' ORDER BY id)) FROM user_management."USER") AS same_users,
       f.usage = (SELECT md5(string_agg(workspace_id || ':' || date || ':' || api_calls || ':' || tokens_used || ':' || cost_amount, ',' ORDER BY workspace_id, date)) FROM data_statistics.usage_stats) AS same_usage,
       f.consumption = (SELECT md5(string_agg(workspace_id || ':' || amount || ':' || model || ':' || created_at, ',' ORDER BY created_at, workspace_id, amount)) FROM financial_management.consumption_record) AS same_consumption,
       f.accounts = (SELECT md5(string_agg(balance::text, ',' ORDER BY id)) FROM financial_management.account) AS same_accounts
FROM fingerprint f;
-- Another seed gives other data.
SET client_min_messages = warning;  -- the cascade list names monthly partitions
TRUNCATE user_management."USER", workspace_domain.workspace, financial_management.consumption_record CASCADE;
RESET client_min_messages;
SELECT zerocut.generate_sample_data(20, 30, 8);
SELECT f.usage <> (SELECT md5(string_agg(workspace_id || ':' || date || ':' || api_calls || ':' || tokens_used || ':' || cost_amount, ',' ORDER BY workspace_id, date)) FROM data_statistics.usage_stats) AS other_seed_differs
FROM fingerprint f;

-- sample_hash is the deterministic source of every value.
SELECT zerocut.sample_hash(1, 42) = zerocut.sample_hash(1, 42) AS stable,
       zerocut.sample_hash(1, 42) <> zerocut.sample_hash(1, 43) AS seed_matters,
       zerocut.sample_hash(-9223372036854775808, -1) >= 0 AS non_negative,
       zerocut.sample_hash(NULL, 1) IS NULL AS strict;

-- Leave the domain empty for the next tests.
SET client_min_messages = warning;  -- the cascade list names monthly partitions
TRUNCATE user_management."USER", workspace_domain.workspace, financial_management.consumption_record,
         audit_log.system_log CASCADE;
RESET client_min_messages;
