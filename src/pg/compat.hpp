// PostgreSQL version differences, in one place: capability code calls these
// and never tests PG_VERSION_NUM itself.  Tested on 15; 17 builds in the
// root of scripts/pg-root.sh.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "catalog/pg_class.h"
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

}  // namespace zc::pg
