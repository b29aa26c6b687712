// zerocut.guard_audit_log_partitions() RETURNS integer
// zerocut.audit_log_partition_guard() RETURNS event_trigger
//
// The log's append-only guard on every partition.  The row-level guard
// (BEFORE UPDATE OR DELETE) is cloned to partitions by PostgreSQL; the
// statement-level BEFORE TRUNCATE guard is not, so a TRUNCATE addressed to
// a partition would remove rows without the guard seeing it.  Every
// partition of audit_log.system_log, at any depth, gets its own BEFORE
// TRUNCATE trigger running zerocut.audit_log_guard():
//  - guard_audit_log_partitions(), which the installer (domain/40_audit.sql)
//    and the upgrade script call for the partitions that exist;
//  - the ddl_command_end event trigger zerocut_audit_log_partitions, for
//    partitions made later by anyone: CREATE TABLE … PARTITION OF and
//    ALTER TABLE … ATTACH PARTITION, whether typed, run by zerocut's
//    partition manager or by pg_restore.
// The triggers are internal (tgisinternal, named
// zerocut_append_only_truncate_<oid>): pg_dump does not dump them, so a
// restore, whose ATTACH PARTITION makes them again, does not meet a
// duplicate.  A detached partition keeps its trigger.
#include <string>

#include "pg/boundary.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_proc.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

namespace {

constexpr int16 truncate_guard_type = TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_TRUNCATE;  // FOR EACH STATEMENT

Oid log_relid()
{
    Oid schema = get_namespace_oid("audit_log", true);
    return OidIsValid(schema) ? get_relname_relid("system_log", schema) : InvalidOid;
}

Oid guard_function()
{
    List* name = list_make2(makeString(pstrdup("zerocut")), makeString(pstrdup("audit_log_guard")));
    return LookupFuncName(name, 0, nullptr, false);
}

// Whether `relid` has a BEFORE TRUNCATE statement trigger running `function`.
bool has_truncate_guard(Oid relid, Oid function)
{
    Relation catalog = table_open(TriggerRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
    SysScanDesc scan = systable_beginscan(catalog, TriggerRelidNameIndexId, true, nullptr, 1, &key);
    bool found = false;
    HeapTuple tuple;
    while (!found && HeapTupleIsValid(tuple = systable_getnext(scan))) {
        auto* form = reinterpret_cast<Form_pg_trigger>(GETSTRUCT(tuple));
        found = form->tgfoid == function && form->tgtype == truncate_guard_type;
    }
    systable_endscan(scan);
    table_close(catalog, AccessShareLock);
    return found;
}

// CREATE TRIGGER zerocut_append_only_truncate BEFORE TRUNCATE ON <relid>
// EXECUTE FUNCTION zerocut.audit_log_guard(), as an internal trigger (no
// permission checks: zerocut adds its own guard to its own log).  Besides
// the usual dependency on the function, an automatic one: DROP EXTENSION
// zerocut CASCADE removes these guards silently, as it does the row guard's
// clones on the partitions, and lists only the log's own two triggers.
void add_truncate_guard(Oid relid, Oid function)
{
    CreateTrigStmt* stmt = makeNode(CreateTrigStmt);
    stmt->replace = false;
    stmt->isconstraint = false;
    stmt->trigname = pstrdup("zerocut_append_only_truncate");
    stmt->relation = nullptr;
    stmt->funcname = list_make2(makeString(pstrdup("zerocut")), makeString(pstrdup("audit_log_guard")));
    stmt->args = NIL;
    stmt->row = false;
    stmt->timing = TRIGGER_TYPE_BEFORE;
    stmt->events = TRIGGER_TYPE_TRUNCATE;
    stmt->columns = NIL;
    stmt->whenClause = nullptr;
    stmt->transitionRels = NIL;
    stmt->deferrable = false;
    stmt->initdeferred = false;
    stmt->constrrel = nullptr;
    ObjectAddress trigger = CreateTrigger(stmt, nullptr, relid, InvalidOid, InvalidOid, InvalidOid, InvalidOid,
                                          InvalidOid, nullptr, true, false);
    ObjectAddress guard;
    ObjectAddressSet(guard, ProcedureRelationId, function);
    recordDependencyOn(&trigger, &guard, DEPENDENCY_AUTO);
}

// Guards every partition of the log that lacks it; returns how many it
// guarded.  C-style: runs inside guard().
int guard_partitions()
{
    Oid log = log_relid();
    if (!OidIsValid(log) || get_rel_relkind(log) != RELKIND_PARTITIONED_TABLE) return 0;
    Oid function = guard_function();
    int added = 0;
    ListCell* cell;
    foreach (cell, find_all_inheritors(log, AccessShareLock, nullptr)) {
        Oid relid = lfirst_oid(cell);
        if (relid == log || has_truncate_guard(relid, function)) continue;
        add_truncate_guard(relid, function);
        added++;
    }
    if (added > 0) CommandCounterIncrement();
    return added;
}

// Whether `relid` is the log or one of its partitions.
bool in_log_tree(Oid relid)
{
    Oid log = log_relid();
    if (!OidIsValid(log) || !OidIsValid(relid)) return false;
    if (relid == log) return true;
    if (!get_rel_relispartition(relid)) return false;
    return list_member_oid(get_partition_ancestors(relid), log);
}

// Whether the finished command made a partition or attached one somewhere
// in the log's tree.  C-style: runs inside guard().
bool adds_log_partition(Node* command)
{
    if (IsA(command, CreateStmt)) {
        auto* create = reinterpret_cast<CreateStmt*>(command);
        if (create->partbound == nullptr || create->inhRelations == NIL) return false;
        auto* parent = static_cast<RangeVar*>(linitial(create->inhRelations));
        return in_log_tree(RangeVarGetRelid(parent, NoLock, true));
    }
    if (IsA(command, AlterTableStmt)) {
        auto* alter = reinterpret_cast<AlterTableStmt*>(command);
        bool attaches = false;
        ListCell* cell;
        foreach (cell, alter->cmds) {
            auto* cmd = static_cast<AlterTableCmd*>(lfirst(cell));
            attaches = attaches || cmd->subtype == AT_AttachPartition;
        }
        return attaches && in_log_tree(RangeVarGetRelid(alter->relation, NoLock, true));
    }
    return false;
}

}  // namespace

ZC_FUNCTION(zc_guard_audit_log_partitions)
{
    return Int32GetDatum(zc::pg::guard([] { return guard_partitions(); }));
}

ZC_FUNCTION(zc_audit_log_partition_guard)
{
    if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "audit_log_partition_guard() must be called as an event trigger");
    auto* data = reinterpret_cast<EventTriggerData*>(fcinfo->context);
    Node* command = data->parsetree;
    zc::pg::guard([=] {
        if (command != nullptr && adds_log_partition(command)) guard_partitions();
    });
    PG_RETURN_VOID();
}
