// zerocut.current_workspace_ids() RETURNS integer[]
//
// The workspaces the current app user (app.current_user_id) is an active
// member of, active workspaces only, ascending; '{}' without a user.  Every
// tenant table's policy calls it as an InitPlan, so the dashboard's one
// statement calls it five times and a pooled transaction (BEGIN;
// set_app_user; queries; END) more.  The answers are therefore kept, per
// app user, while every snapshot sees the rows they were read under: in the
// same transaction at the same command id, or, with no write of the
// caller's own, for as long as no transaction that wrote anything ends
// (ReadContext).  A kept answer is then exactly what a new read would
// return (docs/isolation.md, "Cost").
//
// Whose rights: EXECUTE goes to the isolated role only (setup_roles).  The
// memberships are read straight from user_workspace and workspace (index
// scans under the caller's snapshot, no SQL): past their privileges and
// row security, as their owner past FORCE would read them.  The caller may
// not read other users' memberships, and a query would run the tables' own
// policies, which call this function.  No SQL also means no executor,
// plan or search_path per read.
#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/errors.hpp"
#include "pg/boundary.hpp"
#include "pg/guard.hpp"
#include "pg/module.hpp"
#include "security/app_user.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

namespace {

// What decides which rows a read sees.  Another transaction's rows are
// visible when its xid is below xmax, not in xip and committed; an xid below
// xmax and not in xip has ended, so its outcome is fixed.  Two snapshots
// with equal xmax and xip (and subxip) therefore see exactly the same rows
// of other transactions, in this transaction or a later one: nothing that
// wrote has ended in between.  Own writes need an xid: a transaction that
// has one sees them by command id, so its answers match only its own reads
// at the same command id.  A SERIALIZABLE transaction's reads must take its
// predicate locks (a revoke racing its write is then a serialization
// failure): it uses only answers it read itself.
struct ReadContext {
    bool known = false;  // false: nothing read yet, or forgotten
    TransactionId xmin = InvalidTransactionId;
    TransactionId xmax = InvalidTransactionId;
    bool suboverflowed = false;
    bool taken_during_recovery = false;
    std::vector<TransactionId> xip;
    std::vector<TransactionId> subxip;
    TransactionId own_xid = InvalidTransactionId;  // the reading transaction's, if it wrote
    CommandId curcid = InvalidCommandId;           // only with own_xid
    uint64 serializable = 0;                       // the SERIALIZABLE transaction's number, 0 otherwise

    bool matches(Snapshot snapshot, TransactionId own, uint64 in_serializable) const
    {
        return known && serializable == in_serializable && xmin == snapshot->xmin && xmax == snapshot->xmax &&
               suboverflowed == snapshot->suboverflowed && taken_during_recovery == snapshot->takenDuringRecovery &&
               std::equal(xip.begin(), xip.end(), snapshot->xip, snapshot->xip + snapshot->xcnt) &&
               std::equal(subxip.begin(), subxip.end(), snapshot->subxip, snapshot->subxip + snapshot->subxcnt) &&
               own_xid == own && (!TransactionIdIsValid(own) || curcid == snapshot->curcid);
    }
    void assign(Snapshot snapshot, TransactionId own, uint64 in_serializable)
    {
        known = false;  // until every field is set (the vectors may throw)
        serializable = in_serializable;
        xmin = snapshot->xmin;
        xmax = snapshot->xmax;
        suboverflowed = snapshot->suboverflowed;
        taken_during_recovery = snapshot->takenDuringRecovery;
        xip.assign(snapshot->xip, snapshot->xip + snapshot->xcnt);
        subxip.assign(snapshot->subxip, snapshot->subxip + snapshot->subxcnt);
        own_xid = own;
        curcid = snapshot->curcid;
        known = true;
    }
};

// The answers read under `kept_context`, by app user.  A read-only stretch
// of a pooled server connection (every snapshot alike, whichever client's
// transaction) reads each user's memberships once; the first snapshot that
// differs drops them all.  Bounded: a full map is emptied.
ReadContext kept_context;
std::unordered_map<int32, std::vector<int32>> kept;
constexpr size_t max_kept_users = 4096;

void forget_answers()
{
    kept.clear();
    kept_context.known = false;
}

// Where a membership read looks: a table of workspace_domain, the column it
// is searched by, and a valid plain btree whose first column that is (an
// index scan), or none (a heap scan with the same key).
struct KeyedTable {
    Oid table = InvalidOid;
    Oid index = InvalidOid;
    AttrNumber key = InvalidAttrNumber;
    AttrNumber status = InvalidAttrNumber;
    AttrNumber workspace_id = InvalidAttrNumber;  // user_workspace only
};

// Looked up once per session and again after any invalidation of either
// table or of their indexes (forget_on_relcache).
std::optional<KeyedTable> memberships_table;  // user_workspace by user_id
std::optional<KeyedTable> workspaces_table;   // workspace by id

// Numbers this session's transactions (ReadContext::serializable).
uint64 transactions_ended = 0;
// The transaction (its number) in which memberships() last locked both
// tables: the locks last to its end.  Matters only for a kept answer: every
// event that can lose the locks or change the tables (a subtransaction
// abort, an invalidation) also forgets the answers, so the next call reads
// and locks again whatever this says; it is reset there all the same.
uint64 locked_in = UINT64_MAX;

// The answers are forgotten when a subtransaction aborts (its writes become
// invisible under the same command id) and when either table or one of its
// indexes changes shape or is truncated (relcache invalidation): then where
// to read is looked up again too.  A transaction's end needs nothing: if it
// wrote, its end changes every later snapshot's xmax or xip.
void forget_on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void*)
{
    if (event != SUBXACT_EVENT_ABORT_SUB) return;
    forget_answers();
    locked_in = UINT64_MAX;
}
void count_transaction_end(XactEvent event, void*)
{
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_COMMIT ||
        event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE)
        ++transactions_ended;
}
bool concerns(const std::optional<KeyedTable>& table, Oid relid)
{
    return table && (relid == table->table || relid == table->index);
}
void forget_on_relcache(Datum, Oid relid)
{
    if (relid != InvalidOid && !concerns(memberships_table, relid) && !concerns(workspaces_table, relid)) return;
    forget_answers();
    memberships_table.reset();
    workspaces_table.reset();
    locked_in = UINT64_MAX;
}
// A renamed schema sends no invalidation for its tables: any schema change
// sends the tables to be looked up by name again.
void forget_on_namespace(Datum, int, uint32)
{
    forget_answers();
    memberships_table.reset();
    workspaces_table.reset();
    locked_in = UINT64_MAX;
}

zc::pg::OnLoad register_forgetting([] {
    RegisterSubXactCallback(forget_on_subxact, nullptr);
    CacheRegisterRelcacheCallback(forget_on_relcache, (Datum)0);
    CacheRegisterSyscacheCallback(NAMESPACEOID, forget_on_namespace, (Datum)0);
    RegisterXactCallback(count_transaction_end, nullptr);
});

// A column of `rel` that must be integer (`want_int4`) or text/varchar.
// C frames only (inside guard): ereport(ERROR) is the boundary's to carry.
AttrNumber column_of(Relation rel, const char* name, bool want_int4)
{
    AttrNumber attnum = get_attnum(RelationGetRelid(rel), name);
    if (attnum == InvalidAttrNumber)
        ereport(ERROR,
                (errcode(ERRCODE_UNDEFINED_COLUMN), errmsg("zerocut.current_workspace_ids() needs column \"%s\" of %s",
                                                           name, RelationGetRelationName(rel))));
    Oid type = TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid;
    bool fits = want_int4 ? type == INT4OID : (type == TEXTOID || type == VARCHAROID);
    if (!fits)
        ereport(ERROR,
                (errcode(ERRCODE_DATATYPE_MISMATCH),
                 errmsg("zerocut.current_workspace_ids() needs %s.%s of type %s, not %s", RelationGetRelationName(rel),
                        name, want_int4 ? "integer" : "text or varchar", format_type_be(type))));
    return attnum;
}

// A valid, non-partial btree of `rel` whose first column is `attnum`.
Oid btree_on(Relation rel, AttrNumber attnum)
{
    List* indexes = RelationGetIndexList(rel);
    ListCell* cell;
    Oid found = InvalidOid;
    foreach (cell, indexes) {
        Relation index = index_open(lfirst_oid(cell), AccessShareLock);
        Form_pg_index form = index->rd_index;
        bool usable = form->indisvalid && form->indkey.values[0] == attnum && index->rd_rel->relam == BTREE_AM_OID &&
                      heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL);
        index_close(index, AccessShareLock);
        if (usable) {
            found = lfirst_oid(cell);
            break;
        }
    }
    list_free(indexes);
    return found;
}

// workspace_domain.`name`, locked, or InvalidOid.  Looked up again after
// the lock (which takes in invalidations) until the name still gives the
// locked table, as RangeVarGetRelid does, but with no USAGE check on the
// schema: the read is the table owner's, not the caller's.
// C frames only (inside guard).
Oid relation_by_name(const char* name)
{
    for (;;) {
        Oid nsp = get_namespace_oid("workspace_domain", true);
        Oid relid = nsp == InvalidOid ? InvalidOid : get_relname_relid(name, nsp);
        if (relid == InvalidOid) return InvalidOid;
        LockRelationOid(relid, AccessShareLock);
        nsp = get_namespace_oid("workspace_domain", true);
        if (nsp != InvalidOid && get_relname_relid(name, nsp) == relid) return relid;
        UnlockRelationOid(relid, AccessShareLock);
    }
}

KeyedTable describe(const char* name, const char* key, bool with_workspace_id)
{
    KeyedTable found;
    KeyedTable* out = &found;
    bool present = zc::pg::guard([=] {
        Oid relid = relation_by_name(name);
        if (relid == InvalidOid) return false;
        Relation rel = table_open(relid, NoLock);
        if (rel->rd_rel->relkind != RELKIND_RELATION)
            ereport(ERROR,
                    (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                     errmsg("zerocut.current_workspace_ids() needs workspace_domain.%s to be a plain table", name)));
        out->table = relid;
        out->key = column_of(rel, key, true);
        out->status = column_of(rel, "status", false);
        if (with_workspace_id) out->workspace_id = column_of(rel, "workspace_id", true);
        out->index = btree_on(rel, out->key);
        table_close(rel, NoLock);
        return true;
    });
    if (!present)
        throw zc::Error(zc::sqlstate::undefined_table,
                        "zerocut.current_workspace_ids() needs the domain tables workspace_domain.workspace and "
                        "user_workspace",
                        "", "Run SELECT zerocut.install_domain_schema();");
    return found;
}

// Calls `visit(tuple, descriptor)` for each row of `t` visible to `snapshot`
// whose key column equals `value`; true from `visit` stops the scan.
// C frames only (inside guard).
template <typename Visit>
void scan_equal(const KeyedTable& t, int32 value, Snapshot snapshot, Visit visit)
{
    Relation rel = table_open(t.table, NoLock);  // locked by locked_tables()
    ScanKeyData key;
    ScanKeyInit(&key, t.key, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(value));
    SysScanDesc scan = systable_beginscan(rel, t.index, OidIsValid(t.index), snapshot, 1, &key);
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan)))
        if (visit(tuple, RelationGetDescr(rel))) break;
    systable_endscan(scan);
    table_close(rel, NoLock);
}

bool is_active(HeapTuple tuple, TupleDesc descriptor, AttrNumber status)
{
    bool isnull;
    Datum value = heap_getattr(tuple, status, descriptor, &isnull);
    if (isnull) return false;
    text* status_text = DatumGetTextPP(value);
    return VARSIZE_ANY_EXHDR(status_text) == 6 && memcmp(VARDATA_ANY(status_text), "active", 6) == 0;
}

// Where to read, with both tables locked as a query locks them (to the end
// of the transaction).  Taking the lock takes in any invalidation sent
// before it: a description from an earlier transaction that a DDL has
// changed since is then forgotten (forget_on_relcache) and looked up again,
// so the attribute numbers and types used below are the tables' own.
std::pair<KeyedTable, KeyedTable> locked_tables()
{
    for (;;) {
        if (!memberships_table) memberships_table = describe("user_workspace", "user_id", true);
        if (!workspaces_table) workspaces_table = describe("workspace", "id", false);
        // Describing one table may take in an invalidation of the other.
        if (!memberships_table || !workspaces_table) continue;
        KeyedTable members = *memberships_table;
        KeyedTable workspaces = *workspaces_table;
        zc::pg::guard([=] {
            LockRelationOid(members.table, AccessShareLock);
            LockRelationOid(workspaces.table, AccessShareLock);
        });
        if (memberships_table && workspaces_table) return {members, workspaces};
    }
}

// The memberships of `user` that are active in active workspaces, read under
// `snapshot` straight from the tables (index scans, no SQL): past their
// privileges and row security, as an owner past FORCE would, and without
// running their policies (which call this function).
std::vector<int32> read_memberships(int32 user, Snapshot snapshot, const KeyedTable& members,
                                    const KeyedTable& workspaces)
{
    std::vector<int32> ids;
    std::vector<int32>* out = &ids;
    zc::pg::guard([=] {
        scan_equal(members, user, snapshot, [=](HeapTuple tuple, TupleDesc descriptor) {
            bool isnull;
            Datum workspace = heap_getattr(tuple, members.workspace_id, descriptor, &isnull);
            if (isnull || !is_active(tuple, descriptor, members.status)) return false;
            int32 workspace_id = DatumGetInt32(workspace);
            bool workspace_active = false;
            scan_equal(workspaces, workspace_id, snapshot, [&](HeapTuple row, TupleDesc row_descriptor) {
                workspace_active = is_active(row, row_descriptor, workspaces.status);
                return workspace_active;  // as the join: any active row of that id
            });
            if (workspace_active) out->push_back(workspace_id);
            return false;
        });
    });
    std::sort(ids.begin(), ids.end());
    return ids;
}

// The kept answer when the read context is unchanged, else a new read under
// the active snapshot (the one the caller's statement reads with).  The
// tables are locked first either way, once per transaction, as a query's
// would be (a DROP or TRUNCATE waits for this transaction, a DDL committed
// before is taken in).
std::vector<int32> memberships(int32 user)
{
    std::optional<std::pair<KeyedTable, KeyedTable>> tables;
    if (locked_in != transactions_ended) {
        tables = locked_tables();
        locked_in = transactions_ended;
    }
    Snapshot active = zc::pg::guard([] { return ActiveSnapshotSet() ? GetActiveSnapshot() : nullptr; });
    // Only an ordinary statement snapshot is a key; any other is read under
    // and nothing is kept.
    if (!active || active->snapshot_type != SNAPSHOT_MVCC) {
        if (!tables) tables = locked_tables();
        return read_memberships(user, zc::pg::guard([] { return GetTransactionSnapshot(); }), tables->first,
                                tables->second);
    }
    TransactionId own_xid = zc::pg::guard([] { return GetTopTransactionIdIfAny(); });
    uint64 serializable = IsolationIsSerializable() ? transactions_ended + 1 : 0;
    if (!kept_context.matches(active, own_xid, serializable)) {
        forget_answers();
        kept_context.assign(active, own_xid, serializable);
    }
    if (auto found = kept.find(user); found != kept.end()) return found->second;
    if (!tables) tables = locked_tables();
    std::vector<int32> ids = read_memberships(user, active, tables->first, tables->second);
    if (kept.size() >= max_kept_users) kept.clear();
    kept.emplace(user, ids);
    return ids;
}

Datum int4_array(const std::vector<int32>& values)
{
    const int32* data = values.data();
    int count = static_cast<int>(values.size());
    return zc::pg::guard([data, count] {
        Datum* elements = static_cast<Datum*>(palloc(sizeof(Datum) * (count > 0 ? count : 1)));
        for (int i = 0; i < count; ++i) elements[i] = Int32GetDatum(data[i]);
        return PointerGetDatum(construct_array(elements, count, INT4OID, sizeof(int32), true, TYPALIGN_INT));
    });
}

}  // namespace

ZC_FUNCTION(zc_current_workspace_ids)
{
    std::optional<int32> user = zc::security::current_app_user();
    if (!user) return int4_array({});
    return int4_array(memberships(*user));
}
