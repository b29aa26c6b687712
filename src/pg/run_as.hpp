// Whose rights a piece of zerocut's work uses (docs/security.md).
//
//  - Work on a table (moving rows, creating or dropping its partitions, its
//    archive table) runs as the table's owner under
//    SECURITY_RESTRICTED_OPERATION, as core's VACUUM, REINDEX and REFRESH do:
//    the owner's triggers and defaults then never run with the rights of the
//    caller (a superuser under pg_cron), and cannot SET ROLE, create TEMP
//    objects or leave anything behind that outlives the operation.
//  - Writes to zerocut's own tables (partition_config, archive_policy, the
//    audit log, …) run as the extension's owner, so a table owner who was
//    granted EXECUTE needs no grant on them.
//  - Before either, the caller must own (or be superuser over) the table;
//    zerocut's own tables are never the subject of a job.
//
// One RAII switch, AsRole, does it for every capability.
#pragma once

#include <string>

#include "pg/postgres.hpp"
#include "pg/spi.hpp"

namespace zc::pg {

// Switches the current user for the life of the object and restores it
// after.  `restricted` adds SECURITY_RESTRICTED_OPERATION; `extra_flags`
// adds further security-context bits (e.g. SECURITY_NOFORCE_RLS for a write
// that must not meet the target's forced row security).  On an error the
// (sub)transaction abort would restore the user too; the destructor restores
// it in every case (it cannot fail), so a caught zc::Error leaves no trace.
// The enclosing security context is kept: a switch made inside a restricted
// operation (e.g. the audit trigger firing during a job's move) stays
// restricted.
class AsRole {
public:
    AsRole(Oid role, bool restricted, int extra_flags = 0);
    ~AsRole();
    AsRole(const AsRole&) = delete;
    AsRole& operator=(const AsRole&) = delete;

private:
    Oid saved_user_ = InvalidOid;
    int saved_context_ = 0;
};

// The owner of relation `relid`; throws 42P01 when it is gone.
Oid relation_owner(Oid relid);

// The owner of the zerocut extension (whoever ran CREATE EXTENSION).
Oid extension_owner();

// Rows of audit_log.system_log are written as the log's owner (as
// ri_triggers.c runs its checks as the referenced table's owner): writers
// need no grant on the log, whose owner must be a trusted role (checked by
// the writers before).  SECURITY_NOFORCE_RLS: the owner's own forced row
// security does not apply.  Not SECURITY_RESTRICTED_OPERATION: a deferrable
// unique constraint on the log queues its check as a deferred trigger, which
// PostgreSQL refuses to queue inside a restricted operation; the owner is
// trusted, so nothing is gained by restricting it.  (Inside a job's
// AsTableOwner the write stays restricted, see AsRole.)
class AsLogOwner : public AsRole {
public:
    explicit AsLogOwner(Oid owner) : AsRole(owner, false, SECURITY_NOFORCE_RLS) {}
};

// Runs as `relid`'s owner, restricted: the table's own triggers may fire.
// SECURITY_NOFORCE_RLS: a job moves every row (rescue, archive, convert),
// so the owner's FORCE ROW LEVEL SECURITY must not hide some from it (they
// would be left behind); RI checks run the same way.
class AsTableOwner : public AsRole {
public:
    explicit AsTableOwner(Oid relid) : AsRole(relation_owner(relid), true, SECURITY_NOFORCE_RLS) {}
};

// Runs as the extension's owner: only for zerocut's own SQL on its own
// tables (pinned search_path), never for SQL that fires a user's trigger.
class AsExtensionOwner : public AsRole {
public:
    AsExtensionOwner() : AsRole(extension_owner(), false) {}
};

// 42501 unless the current user owns `relid` (or is a member of its owner,
// or superuser): `argument "<arg>": must be owner of table <name>`.
void require_table_owner(Oid relid, const char* arg_name);

// Whether `relid` is one of zerocut's own relations: a member of the
// extension, in schema zerocut, or in the partition tree of
// audit_log.system_log.
bool is_zerocut_relation(Oid relid);

// 42809 when `relid` is one of zerocut's own relations, naming the argument
// and what the caller tried (`what`, e.g. "archived").
void refuse_zerocut_relation(Oid relid, const char* arg_name, const char* what);

// Grants EXECUTE on zerocut's trigger function `function` (e.g.
// "zerocut.audit_trigger_function()") to `relid`'s owner unless a superuser
// owns it.  PostgreSQL clones a parent's row triggers onto every new
// partition and checks EXECUTE on their functions for the role creating it,
// so without this the owner of an audited or protected partitioned table
// could not add a partition.  Harmless: those trigger functions act only on
// tables zerocut recorded.  Run it as the extension's owner.
void let_owner_execute(SpiSession& spi, const char* function, Oid relid);

// Whether `role` is a superuser or the extension's owner: the roles the
// audit log and zerocut's own tables may belong to.
bool is_trusted_role(Oid role);

}  // namespace zc::pg
