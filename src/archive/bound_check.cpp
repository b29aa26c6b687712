// Why this exists: DETACH PARTITION drops the partition constraint, and
// ATTACH PARTITION then scans the whole table unless a *valid* CHECK
// constraint implies the new bounds.  ADD CONSTRAINT ... CHECK (validated)
// and VALIDATE CONSTRAINT both scan the table too (measured in
// bench/results/archive.md).  But while the table is still a partition its
// partition constraint guarantees the bound CHECK for every row, so the
// validation scan can be skipped soundly: we add the CHECK NOT VALID (no
// scan), prove the implication with the planner's prover exactly as
// ATTACH PARTITION does (PartConstraintImpliedByRelConstraint), and set
// convalidated as ATExecValidateConstraint would after its scan.
#include "archive/bound_check.hpp"

#include <string>

#include "core/errors.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_constraint.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "utils/inval.h"
#include "utils/partcache.h"
#include "utils/syscache.h"
}

namespace zc::archive {

namespace {

// 1 = proven and marked valid, 0 = not proven, -1 = not a CHECK of relid.
int mark_valid_if_implied(Oid relid, Oid constraint_oid)
{
    Relation rel = table_open(relid, AccessExclusiveLock);
    if (!rel->rd_rel->relispartition) {
        table_close(rel, NoLock);
        return 0;
    }
    List* partition_qual = RelationGetPartitionQual(rel);
    Relation conrel = table_open(ConstraintRelationId, RowExclusiveLock);
    HeapTuple tuple = SearchSysCacheCopy1(CONSTROID, ObjectIdGetDatum(constraint_oid));
    if (!HeapTupleIsValid(tuple)) {
        table_close(conrel, RowExclusiveLock);
        table_close(rel, NoLock);
        return -1;
    }
    Form_pg_constraint con = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tuple));
    if (con->conrelid != relid || con->contype != CONSTRAINT_CHECK) {
        table_close(conrel, RowExclusiveLock);
        table_close(rel, NoLock);
        return -1;
    }
    bool isnull = false;
    Datum bin = SysCacheGetAttr(CONSTROID, tuple, Anum_pg_constraint_conbin, &isnull);
    if (isnull || partition_qual == NIL) {
        table_close(conrel, RowExclusiveLock);
        table_close(rel, NoLock);
        return 0;
    }
    // The same normalisation ATTACH PARTITION applies to both sides.
    Node* check = static_cast<Node*>(stringToNode(TextDatumGetCString(bin)));
    check = eval_const_expressions(nullptr, check);
    check = reinterpret_cast<Node*>(canonicalize_qual(reinterpret_cast<Expr*>(check), true));
    List* check_list = make_ands_implicit(reinterpret_cast<Expr*>(check));
    Node* qual = eval_const_expressions(nullptr, reinterpret_cast<Node*>(make_ands_explicit(partition_qual)));
    qual = reinterpret_cast<Node*>(canonicalize_qual(reinterpret_cast<Expr*>(qual), false));
    List* qual_list = make_ands_implicit(reinterpret_cast<Expr*>(qual));
    if (!predicate_implied_by(check_list, qual_list, false)) {
        table_close(conrel, RowExclusiveLock);
        table_close(rel, NoLock);
        return 0;
    }
    con->convalidated = true;
    CatalogTupleUpdate(conrel, &tuple->t_self, tuple);
    InvokeObjectPostAlterHook(ConstraintRelationId, constraint_oid, 0);
    CacheInvalidateRelcache(rel);
    heap_freetuple(tuple);
    table_close(conrel, RowExclusiveLock);
    table_close(rel, NoLock);
    CommandCounterIncrement();
    return 1;
}

}  // namespace

void validate_check_by_partition_bound(Oid relid, Oid constraint_oid)
{
    int outcome = pg::guard([=] { return mark_valid_if_implied(relid, constraint_oid); });
    if (outcome != 1)
        throw Error(sqlstate::internal_error,
                    "zerocut archive: the bound CHECK of relation " + std::to_string(relid) +
                        " is not implied by its partition constraint",
                    outcome < 0 ? "the constraint is missing or is not a CHECK of that relation" : "");
}

}  // namespace zc::archive
