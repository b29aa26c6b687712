// PostgreSQL version differences, in one place: capability code calls these
// and never tests PG_VERSION_NUM itself.  Tested on 15; 17 builds in the
// root of scripts/pg-root.sh.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_namespace.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#endif
#include "storage/lock.h"
#include "storage/smgr.h"
#include "utils/acl.h"
}

namespace zc::pg {

// Whether `role` owns (or is superuser over) relation `relid`.  16 replaced
// pg_class_ownercheck() by object_ownercheck().  Can ereport: call in guard().
inline bool owns_relation(Oid relid, Oid role)
{
#if PG_VERSION_NUM >= 160000
    return object_ownercheck(RelationRelationId, relid, role);
#else
    return pg_class_ownercheck(relid, role);
#endif
}

// Whether `role` may ANALYZE (or VACUUM) relation `relid` as core's
// commands decide: its owner (or a superuser), the current database's owner
// for a relation that is not shared, and from 17 any role with the MAINTAIN
// privilege on it (pg_maintain, GRANT MAINTAIN).  Lets a caller skip such a
// relation quietly instead of meeting core's WARNING.  Can ereport: call in
// guard().
inline bool may_analyze_relation(Oid relid, bool shared, Oid role)
{
#if PG_VERSION_NUM >= 170000
    if (pg_class_aclcheck(relid, role, ACL_MAINTAIN) == ACLCHECK_OK) return true;
#endif
    if (owns_relation(relid, role)) return true;
    if (shared) return false;
#if PG_VERSION_NUM >= 160000
    return object_ownercheck(DatabaseRelationId, MyDatabaseId, role);
#else
    return pg_database_ownercheck(MyDatabaseId, role);
#endif
}

// Blocks in the main fork of a permanent relation's storage file (0 when
// there is no file), read from the storage manager without building a
// relcache entry.  16 renamed RelFileNode to RelFileLocator; 17 replaced
// backend ids by proc numbers.  Can ereport: call in guard().
inline BlockNumber main_fork_blocks(Oid tablespace, Oid relfilenode)
{
#if PG_VERSION_NUM >= 160000
    RelFileLocator file{tablespace, MyDatabaseId, relfilenode};
#else
    RelFileNode file{tablespace, MyDatabaseId, relfilenode};
#endif
#if PG_VERSION_NUM >= 170000
    SMgrRelation storage = smgropen(file, INVALID_PROC_NUMBER);
#else
    SMgrRelation storage = smgropen(file, InvalidBackendId);
#endif
    return smgrexists(storage, MAIN_FORKNUM) ? smgrnblocks(storage, MAIN_FORKNUM) : 0;
}

// Whether `role` has USAGE on schema `namespace_oid` (16 replaced
// pg_namespace_aclcheck() by object_aclcheck()).
inline bool has_schema_usage(Oid namespace_oid, Oid role)
{
#if PG_VERSION_NUM >= 160000
    return object_aclcheck(NamespaceRelationId, namespace_oid, role, ACL_USAGE) == ACLCHECK_OK;
#else
    return pg_namespace_aclcheck(namespace_oid, role, ACL_USAGE) == ACLCHECK_OK;
#endif
}

// A range table entry for `relid` locked in `lockmode`, as the parser makes
// one for INSERT into it.
inline RangeTblEntry* relation_rte(Oid relid, char relkind, LOCKMODE lockmode)
{
    RangeTblEntry* rte = makeNode(RangeTblEntry);
    rte->rtekind = RTE_RELATION;
    rte->relid = relid;
    rte->relkind = relkind;
    rte->rellockmode = lockmode;
    return rte;
}

// Whether the current user may INSERT into `columns` of `relid`, checked
// as the executor checks a statement (ExecutorCheckPerms_hook included).
// `columns` holds attribute numbers offset by FirstLowInvalidHeapAttributeNumber.
// 16 moved the required permissions from the RTE to RTEPermissionInfo.
inline bool may_insert_columns(Oid relid, char relkind, Bitmapset* columns)
{
    RangeTblEntry* rte = relation_rte(relid, relkind, RowExclusiveLock);
#if PG_VERSION_NUM >= 160000
    List* perminfos = NIL;
    RTEPermissionInfo* perminfo = addRTEPermissionInfo(&perminfos, rte);
    perminfo->requiredPerms = ACL_INSERT;
    perminfo->insertedCols = columns;
    return ExecCheckPermissions(list_make1(rte), perminfos, false);
#else
    rte->requiredPerms = ACL_INSERT;
    rte->insertedCols = columns;
    return ExecCheckRTPerms(list_make1(rte), false);
#endif
}

// The executor state's range table: the one relation rows are inserted
// into (for error reports and constraint checks).
inline void init_insert_range_table(EState* estate, Oid relid)
{
    RangeTblEntry* rte = relation_rte(relid, RELKIND_RELATION, RowExclusiveLock);
#if PG_VERSION_NUM >= 160000
    List* perminfos = NIL;
    addRTEPermissionInfo(&perminfos, rte);
    ExecInitRangeTable(estate, list_make1(rte), perminfos);
#else
    ExecInitRangeTable(estate, list_make1(rte));
#endif
}

// Index entries for a newly inserted tuple; returns the recheck list (16
// added onlySummarizing, for HOT updates; an insert wants every index).
inline List* insert_index_tuples(ResultRelInfo* info, TupleTableSlot* slot, EState* estate)
{
#if PG_VERSION_NUM >= 160000
    return ExecInsertIndexTuples(info, slot, estate, false, false, nullptr, NIL, false);
#else
    return ExecInsertIndexTuples(info, slot, estate, false, false, nullptr, NIL);
#endif
}

// Whether this backend holds `mode` on relation `relid` (17 added an
// "or stronger" argument; false keeps 15's exact-mode meaning).
inline bool relation_lock_held(Oid relid, LOCKMODE mode)
{
    LOCKTAG tag;
    SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
#if PG_VERSION_NUM >= 170000
    return LockHeldByMe(&tag, mode, false);
#else
    return LockHeldByMe(&tag, mode);
#endif
}

// A snapshot of search_path to tell later whether it is still the same
// (17 renamed OverrideSearchPath to SearchPathMatcher).
#if PG_VERSION_NUM >= 170000
using SearchPathSnapshot = SearchPathMatcher;
inline SearchPathSnapshot* take_search_path(MemoryContext context)
{
    return GetSearchPathMatcher(context);
}
inline bool search_path_unchanged(SearchPathSnapshot* path)
{
    return SearchPathMatchesCurrentEnvironment(path);
}
#else
using SearchPathSnapshot = OverrideSearchPath;
inline SearchPathSnapshot* take_search_path(MemoryContext context)
{
    return GetOverrideSearchPath(context);
}
inline bool search_path_unchanged(SearchPathSnapshot* path)
{
    return OverrideSearchPathMatchesCurrent(path);
}
#endif

}  // namespace zc::pg
