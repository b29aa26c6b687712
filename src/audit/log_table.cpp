// audit_log.system_log as the writer finds it: looked up by name, locked as
// an INSERT locks it, and written only if it is the log zerocut's installer
// made (owner, partitioning, columns, guard triggers); never created here.
#include <optional>
#include <string>

#include "audit/audit_log_internal.hpp"
#include "core/errors.hpp"
#include "pg/boundary.hpp"
#include "pg/compat.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/lsyscache.h"
}

namespace zc::audit {

namespace {

// The log last found acceptable (log_table()), until its relcache entry
// (columns, owner, triggers) or any role changes: no catalog query per write.
Oid checked_log = InvalidOid;
Oid checked_owner = InvalidOid;

// audit_log.system_log's OID, InvalidOid when missing.
Oid find_log_table()
{
    return zc::pg::guard([] {
        Oid namespace_oid = get_namespace_oid("audit_log", true);
        return OidIsValid(namespace_oid) ? get_relname_relid("system_log", namespace_oid) : InvalidOid;
    });
}

// What makes a log zerocut's own, beyond its owner: the shape
// domain/10_tables.sql and domain/40_audit.sql give it.  Extra columns,
// indexes, constraints and triggers are allowed (the writer's SQL path
// honours them); the six columns zerocut writes or reads, the RANGE
// partitioning by created_at and both guard triggers, enabled, are required.
// One row: (partitioned by created_at, the columns with their types, the
// two guards).  tgtype 27: BEFORE ROW UPDATE OR DELETE; 34: BEFORE
// STATEMENT TRUNCATE.
constexpr const char* log_shape_sql = R"SQL(
SELECT
    (SELECT p.partstrat = 'r' AND p.partnatts = 1 AND a.attname = 'created_at'
     FROM pg_catalog.pg_partitioned_table p
     JOIN pg_catalog.pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = $1) IS TRUE,
    (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a
     JOIN (VALUES ('id', 'pg_catalog.int8'::pg_catalog.regtype), ('level', 'pg_catalog.varchar'),
                  ('message', 'pg_catalog.text'), ('metadata', 'pg_catalog.jsonb'), ('user_id', 'pg_catalog.int4'),
                  ('created_at', 'pg_catalog.timestamptz')) AS v(name, type)
       ON a.attname = v.name AND a.atttypid = v.type
     WHERE a.attrelid = $1 AND NOT a.attisdropped) = 6,
    (SELECT pg_catalog.count(DISTINCT t.tgname) FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = $1 AND t.tgenabled <> 'D'
       AND t.tgfoid = 'zerocut.audit_log_guard()'::pg_catalog.regprocedure
       AND ((t.tgname = 'zerocut_append_only' AND t.tgtype = 27)
            OR (t.tgname = 'zerocut_append_only_truncate' AND t.tgtype = 34))) = 2
)SQL";

[[noreturn]] void refuse_log(const std::string& problem)
{
    throw zc::Error(zc::sqlstate::insufficient_privilege,
                    "audit_log.system_log " + problem + "; zerocut does not write audit rows to it",
                    "zerocut writes only to the log zerocut.install_domain_schema() made: owned by a superuser or "
                    "the owner of extension zerocut, RANGE-partitioned by created_at, with its append-only guard "
                    "triggers",
                    "Drop or rename that table (and its schema, if another role made it), then run SELECT "
                    "zerocut.install_domain_schema() as a superuser to create the log.");
}

// Throws (42501) unless `log`, owned by `owner`, is a log zerocut made.
void check_log_table(Oid log, Oid owner)
{
    if (!zc::pg::is_trusted_role(owner)) {
        char* owner_name = zc::pg::guard([=] { return GetUserNameFromId(owner, true); });
        refuse_log(std::string("is owned by role \"") + (owner_name ? owner_name : "?") +
                   "\", not by a superuser or the owner of extension zerocut");
    }
    // As the extension's owner: the writing role may lack USAGE on zerocut.
    // Not read-only: a fresh snapshot sees a log replaced while we waited.
    zc::pg::SpiSession spi;
    zc::pg::PinnedSearchPath pinned;
    zc::pg::AsExtensionOwner as_extension_owner;
    spi.execute_cached(log_shape_sql, {zc::pg::Param{OIDOID, ObjectIdGetDatum(log)}});
    auto rows = spi.rows_text();
    if (rows.size() != 1 || rows[0].size() != 3) refuse_log("could not be inspected");
    if (rows[0][0] != std::optional<std::string>("t")) refuse_log("is not RANGE-partitioned by created_at");
    if (rows[0][1] != std::optional<std::string>("t"))
        refuse_log(
            "lacks the columns zerocut makes (id bigint, level varchar, message text, metadata jsonb, user_id "
            "integer, created_at timestamptz)");
    if (rows[0][2] != std::optional<std::string>("t"))
        refuse_log(
            "lacks its enabled guard triggers zerocut_append_only and zerocut_append_only_truncate "
            "(zerocut.audit_log_guard())");
}

// audit_log.system_log, locked as an INSERT locks it (ROW EXCLUSIVE), so
// the log checked is the log written: a rename or replacement committed
// while we waited for the lock is seen (name looked up again), and none
// can happen after.  InvalidOid when missing.  Looked up without a USAGE
// check on the schema: the writing role needs no rights on the log.
Oid locked_log_table()
{
    for (;;) {
        Oid log = find_log_table();
        if (!OidIsValid(log)) return InvalidOid;
        bool held = zc::pg::guard([=] { return zc::pg::relation_lock_held(log, RowExclusiveLock); });
        if (held) return log;  // locked earlier in this transaction: the name still holds
        zc::pg::guard([=] { LockRelationOid(log, RowExclusiveLock); });  // processes invalidations
        if (find_log_table() == log) return log;
        zc::pg::guard([=] { UnlockRelationOid(log, RowExclusiveLock); });
    }
}

}  // namespace

void forget_checked_log(Oid relid)
{
    if (relid == InvalidOid || relid == checked_log) checked_log = InvalidOid;
}

LogTable log_table()
{
    Oid log = locked_log_table();
    if (log == InvalidOid)
        throw zc::Error(zc::sqlstate::undefined_table, "audit_log.system_log does not exist",
                        "zerocut never creates the log on the fly: only zerocut.install_domain_schema() does",
                        "Run SELECT zerocut.install_domain_schema(); as a superuser.");
    if (log == checked_log) return {log, checked_owner};
    Oid owner = zc::pg::relation_owner(log);
    check_log_table(log, owner);
    checked_log = log;
    checked_owner = owner;
    return {log, owner};
}

void require_usable_log()
{
    log_table();
}

}  // namespace zc::audit
