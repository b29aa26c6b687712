-- zerocut domain schema: schemas, types, tables, keys and constraints.
-- Run by zerocut.install_domain_schema() with search_path = pg_catalog, pg_temp:
-- every name is schema-qualified.  Idempotent: running it again changes nothing.
-- Tables that grow with time (usage_stats, consumption_record, system_log)
-- are RANGE-partitioned by month; their primary keys include the partition
-- column, and a DEFAULT partition catches rows no monthly partition holds yet.

-- IF NOT EXISTS would silently adopt an object someone else created first
-- (say, a system_log with a trigger of theirs that later fires inside
-- superuser jobs).  Existing domain schemas and tables must belong to the
-- installing role or to a superuser.
DO $$
DECLARE
    foreign_objects text;
BEGIN
    SELECT string_agg(format('%s %s (owner %s)', kind, name, pg_get_userbyid(owner)), ', ' ORDER BY name)
    INTO foreign_objects
    FROM (
        SELECT 'schema' AS kind, quote_ident(nspname) AS name, nspowner AS owner
        FROM pg_namespace
        WHERE nspname IN ('user_management', 'workspace_domain', 'financial_management', 'api_management',
                          'data_statistics', 'audit_log', 'archive')
        UNION ALL
        SELECT 'table', c.oid::regclass::text, c.relowner
        FROM pg_class c
        WHERE c.oid IN (SELECT to_regclass(t) FROM unnest(ARRAY[
            'user_management."USER"', 'workspace_domain.workspace', 'workspace_domain.user_workspace',
            'financial_management.account', 'financial_management.consumption_record',
            'api_management.api_key', 'data_statistics.usage_stats', 'audit_log.system_log']) AS t)
    ) AS existing
    WHERE owner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
      AND NOT (SELECT rolsuper FROM pg_roles WHERE oid = existing.owner);
    IF foreign_objects IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = 'install_domain_schema() will not adopt domain objects owned by another role',
            DETAIL = foreign_objects,
            HINT = 'Run it as that role, or transfer ownership (ALTER ... OWNER TO) to the installing role first.';
    END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS user_management;
CREATE SCHEMA IF NOT EXISTS workspace_domain;
CREATE SCHEMA IF NOT EXISTS financial_management;
CREATE SCHEMA IF NOT EXISTS api_management;
CREATE SCHEMA IF NOT EXISTS data_statistics;
CREATE SCHEMA IF NOT EXISTS audit_log;
CREATE SCHEMA IF NOT EXISTS archive;

DO $$
BEGIN
    IF to_regtype('user_management.user_status') IS NULL THEN
        CREATE TYPE user_management.user_status AS ENUM ('active', 'inactive', 'suspended', 'deleted');
    END IF;
END
$$;

-- The seed's USER_NEW shape: the user table as the plan wants it.
CREATE TABLE IF NOT EXISTS user_management."USER" (
    id              serial PRIMARY KEY,
    email           varchar(255) NOT NULL UNIQUE CHECK (email LIKE '%_@_%'),
    password_hash   varchar(255) NOT NULL,
    username        varchar(100) NOT NULL CHECK (length(btrim(username)) > 0),
    phone           varchar(20),
    phone_encrypted bytea,
    avatar_url      text,
    email_verified  boolean NOT NULL DEFAULT false,
    phone_verified  boolean NOT NULL DEFAULT false,
    status          user_management.user_status NOT NULL DEFAULT 'active',
    last_login_at   timestamptz,
    login_attempts  integer NOT NULL DEFAULT 0 CHECK (login_attempts >= 0),
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at      timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    timezone        varchar(50) NOT NULL DEFAULT 'UTC',
    language        varchar(10) NOT NULL DEFAULT 'zh-CN',
    preferences     jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS workspace_domain.workspace (
    id          serial PRIMARY KEY,
    name        varchar(100) NOT NULL CHECK (length(btrim(name)) > 0),
    code        varchar(50) NOT NULL UNIQUE,
    description text,
    owner_id    integer REFERENCES user_management."USER" (id) ON DELETE SET NULL,
    status      varchar(20) NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'inactive', 'suspended', 'deleted')),
    settings    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS workspace_domain.user_workspace (
    id           serial PRIMARY KEY,
    user_id      integer NOT NULL REFERENCES user_management."USER" (id) ON DELETE CASCADE,
    workspace_id integer NOT NULL REFERENCES workspace_domain.workspace (id) ON DELETE CASCADE,
    role         varchar(20) NOT NULL DEFAULT 'member'
                 CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    is_owner     boolean NOT NULL DEFAULT false,
    status       varchar(20) NOT NULL DEFAULT 'active'
                 CHECK (status IN ('active', 'inactive', 'pending', 'removed')),
    joined_at    timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (user_id, workspace_id),
    CHECK (NOT is_owner OR role = 'owner')
);

CREATE TABLE IF NOT EXISTS financial_management.account (
    id           serial PRIMARY KEY,
    workspace_id integer NOT NULL UNIQUE REFERENCES workspace_domain.workspace (id) ON DELETE RESTRICT,
    balance      numeric(14,2) NOT NULL DEFAULT 0.00,
    credit_limit numeric(14,2) NOT NULL DEFAULT 0.00 CHECK (credit_limit >= 0),
    currency     char(3) NOT NULL DEFAULT 'CNY' CHECK (currency ~ '^[A-Z]{3}$'),
    status       varchar(20) NOT NULL DEFAULT 'active'
                 CHECK (status IN ('active', 'frozen', 'closed')),
    created_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CHECK (balance >= -credit_limit)
);

CREATE TABLE IF NOT EXISTS api_management.api_key (
    id           serial PRIMARY KEY,
    workspace_id integer NOT NULL REFERENCES workspace_domain.workspace (id) ON DELETE CASCADE,
    user_id      integer REFERENCES user_management."USER" (id) ON DELETE SET NULL,
    name         varchar(100) NOT NULL,
    key_prefix   varchar(16) NOT NULL,
    key_hash     varchar(255) NOT NULL UNIQUE,
    status       varchar(20) NOT NULL DEFAULT 'active'
                 CHECK (status IN ('active', 'revoked', 'expired')),
    last_used_at timestamptz,
    expires_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- One row per workspace per day (seed section 1).
CREATE TABLE IF NOT EXISTS data_statistics.usage_stats (
    id           bigserial,
    workspace_id integer NOT NULL REFERENCES workspace_domain.workspace (id) ON DELETE CASCADE,
    date         date NOT NULL,
    api_calls    integer NOT NULL DEFAULT 0 CHECK (api_calls >= 0),
    tokens_used  bigint NOT NULL DEFAULT 0 CHECK (tokens_used >= 0),
    cost_amount  numeric(10,2) NOT NULL DEFAULT 0.00 CHECK (cost_amount >= 0),
    created_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id, date),
    UNIQUE (workspace_id, date)
) PARTITION BY RANGE (date);

CREATE TABLE IF NOT EXISTS financial_management.consumption_record (
    id           bigserial,
    workspace_id integer NOT NULL REFERENCES workspace_domain.workspace (id) ON DELETE RESTRICT,
    user_id      integer,
    api_key_id   integer,
    amount       numeric(14,4) NOT NULL CHECK (amount >= 0),
    tokens_used  bigint NOT NULL DEFAULT 0 CHECK (tokens_used >= 0),
    model        varchar(100),
    description  text,
    created_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

-- The log every zerocut job writes to; metadata is jsonb (the seed's json
-- cannot carry a GIN index).  user_id has no foreign key: log rows outlive users.
-- The key starts with created_at, so it also serves time ranges and "latest
-- n" reads: one index fewer for every logged row to maintain.
CREATE TABLE IF NOT EXISTS audit_log.system_log (
    id         bigserial,
    level      varchar(10) NOT NULL DEFAULT 'INFO'
               CHECK (level IN ('DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'CRITICAL')),
    message    text NOT NULL,
    metadata   jsonb NOT NULL DEFAULT '{}',
    user_id    integer,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (created_at, id)
) PARTITION BY RANGE (created_at);

-- DEFAULT partitions, for the partitioned parents only: an older install
-- may still have plain tables, which domain/25_partitions.sql converts.
DO $$
DECLARE
    parent regclass;
BEGIN
    FOREACH parent IN ARRAY ARRAY['data_statistics.usage_stats', 'financial_management.consumption_record',
                                  'audit_log.system_log']::regclass[]
    LOOP
        IF (SELECT relkind FROM pg_class WHERE oid = parent) = 'p'
           AND NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = parent AND partdefid <> 0) THEN
            EXECUTE format('CREATE TABLE %s PARTITION OF %s DEFAULT', parent::text || '_default', parent);
        END IF;
    END LOOP;
END
$$;
