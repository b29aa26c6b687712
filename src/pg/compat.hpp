// PostgreSQL version differences, in one place: capability code calls these
// and never tests PG_VERSION_NUM itself.  Tested on 15; 17 builds in the
// root of scripts/pg-root.sh.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "catalog/pg_class.h"
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

}  // namespace zc::pg
