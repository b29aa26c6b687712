#include "audit/log_writer.hpp"

#include <initializer_list>

#include "pg/compat.hpp"
#include "pg/module.hpp"

extern "C" {
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "nodes/primnodes.h"
#include "optimizer/optimizer.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
}

namespace zc::audit {

namespace {

// Where each column is: the parent's attribute numbers, found by name.
struct LogLayout {
    AttrNumber id, level, message, metadata, user_id, created_at;
    Oid sequence;  // of id's nextval() default
};

constexpr int log_columns = 6;
constexpr int batch_rows = 1000;  // rows per heap_multi_insert, as COPY

AttrNumber find_column(TupleDesc desc, const char* name, Oid type)
{
    for (int i = 0; i < desc->natts; ++i) {
        Form_pg_attribute attr = TupleDescAttr(desc, i);
        if (!attr->attisdropped && attr->atttypid == type && strcmp(NameStr(attr->attname), name) == 0)
            return attr->attnum;
    }
    return InvalidAttrNumber;
}

// The stored default expression (nodeToString form) of `attnum`, or nullptr.
const char* default_text(TupleDesc desc, AttrNumber attnum)
{
    TupleConstr* constr = desc->constr;
    for (int i = 0; constr != nullptr && i < constr->num_defval; ++i)
        if (constr->defval[i].adnum == attnum) return constr->defval[i].adbin;
    return nullptr;
}

// nextval('<sequence>'::regclass): the sequence; InvalidOid for anything else.
Oid nextval_sequence(const char* text)
{
    Node* expr = text != nullptr ? static_cast<Node*>(stringToNode(text)) : nullptr;
    if (expr == nullptr || !IsA(expr, FuncExpr)) return InvalidOid;
    auto* call = reinterpret_cast<FuncExpr*>(expr);
    if (call->funcid != F_NEXTVAL || list_length(call->args) != 1) return InvalidOid;
    Node* arg = static_cast<Node*>(linitial(call->args));
    if (!IsA(arg, Const)) return InvalidOid;
    auto* value = reinterpret_cast<Const*>(arg);
    if (value->constisnull || value->consttype != REGCLASSOID) return InvalidOid;
    return DatumGetObjectId(value->constvalue);
}

bool is_current_timestamp(const char* text)
{
    Node* expr = text != nullptr ? static_cast<Node*>(stringToNode(text)) : nullptr;
    return expr != nullptr && IsA(expr, SQLValueFunction) &&
           reinterpret_cast<SQLValueFunction*>(expr)->op == SVFOP_CURRENT_TIMESTAMP;
}

// The last defaults read, kept so a row does not parse them again: compared
// as text with the relcache's, which change whenever the defaults do.
struct DefaultsSeen {
    char* id_default = nullptr;
    char* created_at_default = nullptr;
    Oid sequence = InvalidOid;  // InvalidOid: the defaults are not ours
};
DefaultsSeen defaults_seen;

bool same_text(const char* a, const char* b)
{
    return a != nullptr && b != nullptr && strcmp(a, b) == 0;
}

// id's sequence when id defaults to nextval() and created_at to
// CURRENT_TIMESTAMP, as the SQL path would fill them; else InvalidOid.
Oid default_sequence(TupleDesc desc, AttrNumber id, AttrNumber created_at)
{
    const char* id_default = default_text(desc, id);
    const char* created_at_default = default_text(desc, created_at);
    if (same_text(id_default, defaults_seen.id_default) &&
        same_text(created_at_default, defaults_seen.created_at_default))
        return defaults_seen.sequence;
    Oid sequence = is_current_timestamp(created_at_default) ? nextval_sequence(id_default) : InvalidOid;
    // Copies first: an out-of-memory error must not leave freed strings behind.
    char* id_copy = id_default ? MemoryContextStrdup(TopMemoryContext, id_default) : nullptr;
    char* created_at_copy = created_at_default ? MemoryContextStrdup(TopMemoryContext, created_at_default) : nullptr;
    if (defaults_seen.id_default != nullptr) pfree(defaults_seen.id_default);
    if (defaults_seen.created_at_default != nullptr) pfree(defaults_seen.created_at_default);
    defaults_seen.id_default = id_copy;
    defaults_seen.created_at_default = created_at_copy;
    defaults_seen.sequence = sequence;
    return sequence;
}

// The domain schema's six columns and defaults, nothing else.
bool read_layout(Relation log, LogLayout* layout)
{
    TupleDesc desc = RelationGetDescr(log);
    if (desc->natts != log_columns || desc->constr == nullptr || desc->constr->has_generated_stored) return false;
    layout->id = find_column(desc, "id", INT8OID);
    layout->level = find_column(desc, "level", VARCHAROID);
    layout->message = find_column(desc, "message", TEXTOID);
    layout->metadata = find_column(desc, "metadata", JSONBOID);
    layout->user_id = find_column(desc, "user_id", INT4OID);
    layout->created_at = find_column(desc, "created_at", TIMESTAMPTZOID);
    if (!layout->id || !layout->level || !layout->message || !layout->metadata || !layout->user_id ||
        !layout->created_at)
        return false;
    int32 level_typmod = TupleDescAttr(desc, layout->level - 1)->atttypmod;
    if (level_typmod != -1 && level_typmod < static_cast<int32>(VARHDRSZ + strlen("INFO"))) return false;
    layout->sequence = default_sequence(desc, layout->id, layout->created_at);
    return OidIsValid(layout->sequence);
}

// ---------------------------------------------------- CHECK constraints
//
// ExecConstraints builds a ResultRelInfo's CHECK expressions the first time
// it runs, with stringToNode() and expression_planner() on each: for a
// one-row write, which gets a ResultRelInfo of its own, that was a third of
// the writer's cost.  They are planned once here instead; each write gets a
// copy and ExecInitExpr()s it, which is what ExecRelCheck would build.  The
// plans are kept while the partition's constraint texts, the role and the
// search_path stay the same and no function or type changed: planning may
// inline a SQL function, which depends on all of them (plancache.c keys its
// plans the same way).

struct PlannedChecks {
    Oid relid = InvalidOid;
    uint64 generation = 0;  // checks_generation when planned
    Oid user = InvalidOid;
    zc::pg::SearchPathSnapshot* search_path = nullptr;
    MemoryContext context = nullptr;
    int count = 0;
    char** texts = nullptr;  // ConstrCheck.ccbin, as planned
    Expr** exprs = nullptr;
};
PlannedChecks planned_checks;
uint64 checks_generation = 1;

void invalidate_planned_checks(Datum, int, uint32)
{
    ++checks_generation;  // only marks: a plan in progress must not be freed under it
}

zc::pg::OnLoad checks_on_load([] {
    CacheRegisterSyscacheCallback(PROCOID, invalidate_planned_checks, (Datum)0);
    CacheRegisterSyscacheCallback(TYPEOID, invalidate_planned_checks, (Datum)0);
});

bool checks_planned_for(Relation target)
{
    TupleConstr* constr = RelationGetDescr(target)->constr;
    if (planned_checks.generation != checks_generation || planned_checks.relid != RelationGetRelid(target) ||
        planned_checks.count != constr->num_check || planned_checks.user != GetUserId() ||
        !zc::pg::search_path_unchanged(planned_checks.search_path))
        return false;
    for (int i = 0; i < constr->num_check; ++i)
        if (strcmp(planned_checks.texts[i], constr->check[i].ccbin) != 0) return false;
    return true;
}

void plan_checks(Relation target)
{
    TupleConstr* constr = RelationGetDescr(target)->constr;
    uint64 generation = checks_generation;
    MemoryContext context = AllocSetContextCreate(CacheMemoryContext, "zerocut audit log checks", ALLOCSET_SMALL_SIZES);
    PlannedChecks fresh;
    MemoryContext caller = CurrentMemoryContext;
    PG_TRY();
    {
        MemoryContextSwitchTo(context);
        fresh.relid = RelationGetRelid(target);
        fresh.generation = generation;
        fresh.user = GetUserId();
        fresh.search_path = zc::pg::take_search_path(context);
        fresh.context = context;
        fresh.count = constr->num_check;
        fresh.texts = static_cast<char**>(palloc(sizeof(char*) * fresh.count));
        fresh.exprs = static_cast<Expr**>(palloc(sizeof(Expr*) * fresh.count));
        for (int i = 0; i < fresh.count; ++i) {
            fresh.texts[i] = pstrdup(constr->check[i].ccbin);
            fresh.exprs[i] = expression_planner(static_cast<Expr*>(stringToNode(fresh.texts[i])));
        }
        MemoryContextSwitchTo(caller);
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller);  // the longjmp skipped the switch back
        MemoryContextDelete(context);
        PG_RE_THROW();
    }
    PG_END_TRY();
    if (planned_checks.context != nullptr) MemoryContextDelete(planned_checks.context);
    planned_checks = fresh;
}

// The ExprStates ExecRelCheck would build, for info->ri_ConstraintExprs; in
// the current (the executor state's) memory context.  nullptr when the
// target has no CHECK constraint.
ExprState** check_states(Relation target)
{
    TupleConstr* constr = RelationGetDescr(target)->constr;
    if (constr == nullptr || constr->num_check == 0) return nullptr;
    if (!checks_planned_for(target)) plan_checks(target);
    auto** states = static_cast<ExprState**>(palloc(sizeof(ExprState*) * planned_checks.count));
    // A copy: the states point into their expressions (constants), which
    // must live as long as the executor state, not as long as the plan.
    for (int i = 0; i < planned_checks.count; ++i)
        states[i] = ExecInitExpr(static_cast<Expr*>(copyObjectImpl(planned_checks.exprs[i])), nullptr);
    return states;
}

// A rule rewrites an INSERT into the log (DO INSTEAD / DO ALSO): SQL path.
// Only the log's own rules count; a partition's do not fire for routed rows.
bool has_insert_rules(Relation rel)
{
    RuleLock* rules = rel->rd_rules;
    for (int i = 0; rules != nullptr && i < rules->numLocks; ++i)
        if (rules->rules[i]->event == CMD_INSERT) return true;
    return false;
}

bool has_insert_triggers(Relation rel)
{
    TriggerDesc* t = rel->trigdesc;
    return t != nullptr &&
           (t->trig_insert_before_row || t->trig_insert_after_row || t->trig_insert_instead_row ||
            t->trig_insert_before_statement || t->trig_insert_after_statement || t->trig_insert_new_table);
}

// The leaf partition of a RANGE (created_at) log for `created_at`, found as
// the executor's get_partition_for_tuple() does.  InvalidOid for the default
// partition (whose constraint a concurrent ATTACH may narrow: the executor
// re-checks it, the SQL path does that), a sub-partitioned one, or none.
Oid route(Relation log, const LogLayout& layout, Datum created_at)
{
    if (log->rd_rel->relkind == RELKIND_RELATION) return RelationGetRelid(log);
    if (log->rd_rel->relkind != RELKIND_PARTITIONED_TABLE) return InvalidOid;
    PartitionKey key = RelationGetPartitionKey(log);
    if (key->strategy != PARTITION_STRATEGY_RANGE || key->partnatts != 1 || key->partattrs[0] != layout.created_at)
        return InvalidOid;
    PartitionDesc parts = RelationGetPartitionDesc(log, true);
    if (parts->nparts == 0) return InvalidOid;
    bool equal = false;
    int offset =
        partition_range_datum_bsearch(key->partsupfunc, key->partcollation, parts->boundinfo, 1, &created_at, &equal);
    int index = parts->boundinfo->indexes[offset + 1];
    if (index < 0 || !parts->is_leaf[index]) return InvalidOid;
    return parts->oids[index];
}

// The partition stores tuples exactly as the parent describes them.
bool same_layout(TupleDesc parent, TupleDesc partition)
{
    if (parent->natts != partition->natts) return false;
    for (int i = 0; i < parent->natts; ++i) {
        Form_pg_attribute a = TupleDescAttr(parent, i), b = TupleDescAttr(partition, i);
        if (b->attisdropped || a->atttypid != b->atttypid || strcmp(NameStr(a->attname), NameStr(b->attname)) != 0)
            return false;
    }
    return true;
}

bool accepts_direct_rows(Relation log, Relation target)
{
    if (target->rd_rel->relkind != RELKIND_RELATION || has_insert_triggers(target)) return false;
    if (target != log && !same_layout(RelationGetDescr(log), RelationGetDescr(target))) return false;
    TupleConstr* constr = RelationGetDescr(target)->constr;
    return constr == nullptr || !constr->has_generated_stored;
}

void fill_slot(TupleTableSlot* slot, Relation target, const LogLayout& layout, const LogRow& row, Datum level,
               Datum created_at)
{
    ExecClearTuple(slot);
    memset(slot->tts_isnull, 0, sizeof(bool) * slot->tts_tupleDescriptor->natts);
    slot->tts_values[layout.id - 1] = Int64GetDatum(nextval_internal(layout.sequence, false));  // may_insert()
    slot->tts_values[layout.level - 1] = level;
    slot->tts_values[layout.message - 1] = row.message;
    slot->tts_values[layout.metadata - 1] = row.metadata;
    slot->tts_values[layout.user_id - 1] = Int32GetDatum(row.user_id);
    slot->tts_isnull[layout.user_id - 1] = row.user_null;
    slot->tts_values[layout.created_at - 1] = created_at;
    ExecStoreVirtualTuple(slot);
    slot->tts_tableOid = RelationGetRelid(target);  // for a CHECK on tableoid, as ExecInsert sets it
}

// One batch already in `slots`: constraints, heap, indexes, as ExecInsert
// does for a plain table with no triggers, the heap part through
// heap_multi_insert as COPY does.
void insert_batch(ResultRelInfo* info, EState* estate, TupleTableSlot** slots, int n)
{
    Relation target = info->ri_RelationDesc;
    if (RelationGetDescr(target)->constr != nullptr)
        for (int i = 0; i < n; ++i) ExecConstraints(info, slots[i], estate);
    // heap_multi_insert leaves its arrays and compressed copies in the
    // current context: the per-tuple one, reset row by row below.
    MemoryContext caller = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
    if (n == 1)
        table_tuple_insert(target, slots[0], estate->es_output_cid, 0, nullptr);
    else
        table_multi_insert(target, slots, n, estate->es_output_cid, 0, nullptr);
    MemoryContextSwitchTo(caller);
    // No recheck list to keep: a deferrable unique constraint comes with its
    // recheck trigger, and a log with triggers never gets here.
    for (int i = 0; i < n; ++i) {
        List* recheck = zc::pg::insert_index_tuples(info, slots[i], estate);
        if (recheck != NIL) elog(ERROR, "zerocut audit: an index of the log asks for a deferred recheck");
        ExecClearTuple(slots[i]);
        ResetPerTupleExprContext(estate);
    }
}

// All rows into `target`, in batches of batch_rows, with an executor state
// of its own (range table for error reports, as logical replication's
// apply builds it).
void insert_rows(Relation target, const LogLayout& layout, const LogRow* rows, int count)
{
    EState* estate = CreateExecutorState();
    MemoryContext caller = MemoryContextSwitchTo(estate->es_query_cxt);
    zc::pg::init_insert_range_table(estate, RelationGetRelid(target));
    ResultRelInfo* info = makeNode(ResultRelInfo);
    InitResultRelInfo(info, target, 1, nullptr, 0);
    info->ri_ConstraintExprs = check_states(target);
    estate->es_output_cid = GetCurrentCommandId(true);
    ExecOpenIndices(info, false);

    int batch = Min(count, batch_rows);
    auto** slots = static_cast<TupleTableSlot**>(palloc(sizeof(TupleTableSlot*) * batch));
    for (int i = 0; i < batch; ++i) slots[i] = table_slot_create(target, &estate->es_tupleTable);
    Datum level = CStringGetTextDatum("INFO");
    Datum created_at = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
    for (int done = 0; done < count; done += batch) {
        int n = Min(batch, count - done);
        for (int i = 0; i < n; ++i) fill_slot(slots[i], target, layout, rows[done + i], level, created_at);
        insert_batch(info, estate, slots, n);
    }
    table_finish_bulk_insert(target, 0);

    ExecCloseIndices(info);
    ExecResetTupleTable(estate->es_tupleTable, false);
    MemoryContextSwitchTo(caller);
    FreeExecutorState(estate);
}

// INSERT on the log's columns, checked as the executor checks it
// (ExecutorCheckPerms_hook included) for the current user: the log's owner;
// and nextval() on id's sequence, checked here once, not for every row.
bool may_insert(Relation log, const LogLayout& layout)
{
    if (pg_class_aclcheck(layout.sequence, GetUserId(), ACL_USAGE | ACL_UPDATE) != ACLCHECK_OK) return false;
    Bitmapset* columns = nullptr;
    for (AttrNumber attnum :
         {layout.id, layout.level, layout.message, layout.metadata, layout.user_id, layout.created_at})
        columns = bms_add_member(columns, attnum - FirstLowInvalidHeapAttributeNumber);
    return zc::pg::may_insert_columns(RelationGetRelid(log), log->rd_rel->relkind, columns);
}

// The log is locked; false when it is not one this writer handles.
bool write_to_log(Relation log, const LogRow* rows, int count)
{
    LogLayout layout;
    // A log that is itself a partition has a constraint the executor would
    // check; a rule or trigger rewrites or watches the INSERT; a new owner
    // is not the user the caller switched to.
    if (log->rd_rel->relispartition || log->rd_rel->relowner != GetUserId() || has_insert_rules(log) ||
        has_insert_triggers(log) || !read_layout(log, &layout) || !may_insert(log, layout))
        return false;
    Oid target_oid = route(log, layout, TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()));
    if (!OidIsValid(target_oid)) return false;
    Relation target = target_oid == RelationGetRelid(log) ? log : table_open(target_oid, RowExclusiveLock);
    bool written = accepts_direct_rows(log, target);
    if (written) insert_rows(target, layout, rows, count);
    if (target != log) table_close(target, NoLock);
    return written;
}

}  // namespace

bool insert_log_rows_direct(Oid log_oid, const LogRow* rows, int count)
{
    if (count <= 0) return true;
    // A read-only transaction: the SQL path raises what an INSERT would.
    if (XactReadOnly) return false;
    // The owner may lack USAGE on the log's schema, which the lookup below
    // would raise; the SQL path, parsed as the writing user, may still work.
    Oid log_schema = get_namespace_oid("audit_log", true);
    if (!OidIsValid(log_schema) || !zc::pg::has_schema_usage(log_schema, GetUserId())) return false;
    // The pre-commit flush runs with no snapshot; partition lookup and
    // unique checks want one, as SPI would push.
    bool push_snapshot = !ActiveSnapshotSet();
    if (push_snapshot) PushActiveSnapshot(GetTransactionSnapshot());
    // Name lookup and lock in one step, as the parser does: the log the
    // caller found may have been renamed, replaced or dropped meanwhile.
    RangeVar* name = makeRangeVar(pstrdup("audit_log"), pstrdup("system_log"), -1);
    Oid locked = RangeVarGetRelidExtended(name, RowExclusiveLock, RVR_MISSING_OK, nullptr, nullptr);
    bool written = false;
    if (locked == log_oid) {
        Relation log = table_open(log_oid, NoLock);
        written = write_to_log(log, rows, count);
        table_close(log, NoLock);
    }
    if (push_snapshot) PopActiveSnapshot();
    return written;
}

}  // namespace zc::audit
