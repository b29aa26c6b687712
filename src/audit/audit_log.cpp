#include "audit/audit_log.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit/log_writer.hpp"
#include "core/audit_options.hpp"
#include "core/errors.hpp"
#include "crypto/protected_columns.hpp"
#include "pg/boundary.hpp"
#include "pg/compat.hpp"
#include "pg/module.hpp"
#include "pg/spi.hpp"
#include "pg/run_as.hpp"
#include "pg/subtransaction.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "access/detoast.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "nodes/makefuncs.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/syscache.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
}

namespace zc::audit {

// How one column's value becomes a JsonbValue.
enum ColumnKind {
    kind_bool,
    kind_int2,
    kind_int4,
    kind_int8,
    kind_numeric,
    kind_text,
    kind_jsonb,
    kind_datetime,
    kind_generic
};

struct AuditColumn {
    AttrNumber attnum;
    char* name;
    int name_len;
    Oid base_type;
    int16 typlen;
    bool typbyval;
    ColumnKind kind;
    bool hidden;         // excluded or redacted: the value never reaches the log
    bool excluded;       // a change to it alone does not make a log row
    FmgrInfo* to_jsonb;  // kind_generic: to_jsonb() with the column's type
    // kind_datetime: the last value converted and its text (MAXDATELEN + 1
    // bytes), reused for an equal value under the same TimeZone: a
    // statement's rows often share a timestamp (now() of the statement that
    // wrote them).  date, timestamp and timestamptz are by-value Datums.
    mutable bool has_last_datetime;
    mutable Datum last_datetime;
    mutable pg_tz* last_timezone;
    char* last_datetime_text;
};
static_assert(FLOAT8PASSBYVAL, "the date/time cache compares timestamp Datums by value");

namespace {

// ---------------------------------------------------------------- GUC ----

char* redact_columns_setting = nullptr;
bool direct_insert_enabled = true;
unsigned long redact_generation = 1;

bool check_redact_columns(char** newval, void**, GucSource)
{
    bool ok = false;
    try {
        ok = core::audit::parse_column_list(*newval ? *newval : "").has_value();
    } catch (...) {
        ok = false;
    }
    if (!ok) GUC_check_errdetail("List syntax is invalid: expected comma-separated column names.");
    return ok;
}

void assign_redact_columns(const char*, void*)
{
    ++redact_generation;
}

// ------------------------------------------------------------- cache ----

// Keyed by trigger OID: a partition's cloned trigger has its own entry.
// unique_ptr-free: entries are palloc'd in CacheMemoryContext and only
// marked stale, so a pointer held by a running trigger never dangles.
std::unordered_map<Oid, AuditRelation*>* relations = nullptr;

// The log last found acceptable (log_table()), until its relcache entry
// (columns, owner, triggers) or any role changes: no catalog query per write.
Oid checked_log = InvalidOid;
Oid checked_owner = InvalidOid;

// Role names recorded in every row (session_user, current_user), by OID.
struct RoleName {
    Oid role = InvalidOid;
    char* name = nullptr;  // in TopMemoryContext
    int length = 0;
};
RoleName session_role_name, current_role_name;

void relcache_callback(Datum, Oid relid)
{
    if (relid == InvalidOid || relid == checked_log) checked_log = InvalidOid;
    if (relations == nullptr) return;
    for (auto& [trigger, rel] : *relations)
        if (relid == InvalidOid || rel->relid == relid || rel->audited_relid == relid) rel->valid = false;
}

// A role renamed, dropped or no longer superuser: names and the log's
// owner are checked again.
void authid_callback(Datum, int, uint32)
{
    checked_log = InvalidOid;
    session_role_name.role = InvalidOid;
    current_role_name.role = InvalidOid;
}

zc::pg::OnLoad audit_on_load([] {
    DefineCustomStringVariable(
        "zerocut.audit_redact_columns", "Columns whose values the audit trigger never writes in clear.",
        "Comma-separated column names; a change to one is logged as \"[redacted]\".", &redact_columns_setting,
        "password_hash", PGC_SUSET, GUC_LIST_INPUT, check_redact_columns, assign_redact_columns, nullptr);
    DefineCustomBoolVariable("zerocut.audit_direct_insert",
                             "Lets the audit trigger append log rows through the table access method.",
                             "Off: every log row is written with an INSERT statement (for comparison and tests).",
                             &direct_insert_enabled, true, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    CacheRegisterRelcacheCallback(relcache_callback, (Datum)0);
    CacheRegisterSyscacheCallback(AUTHOID, authid_callback, (Datum)0);
});

// pg_trigger's tgrelid and tgparentid of trigger `tgoid`.
bool trigger_parent(Oid tgoid, Oid* tgrelid, Oid* tgparentid)
{
    Relation catalog = table_open(TriggerRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(tgoid));
    SysScanDesc scan = systable_beginscan(catalog, TriggerOidIndexId, true, nullptr, 1, &key);
    HeapTuple tuple = systable_getnext(scan);
    bool found = HeapTupleIsValid(tuple);
    if (found) {
        auto* form = reinterpret_cast<Form_pg_trigger>(GETSTRUCT(tuple));
        *tgrelid = form->tgrelid;
        *tgparentid = form->tgparentid;
    }
    systable_endscan(scan);
    table_close(catalog, AccessShareLock);
    return found;
}

bool name_in(const char* name, const char* const* names, int count)
{
    for (int i = 0; i < count; ++i)
        if (strcmp(name, names[i]) == 0) return true;
    return false;
}

ColumnKind kind_of(Oid type)
{
    switch (type) {
        case BOOLOID:
            return kind_bool;
        case INT2OID:
            return kind_int2;
        case INT4OID:
            return kind_int4;
        case INT8OID:
            return kind_int8;
        case NUMERICOID:
            return kind_numeric;
        case TEXTOID:
        case VARCHAROID:
        case BPCHAROID:
            return kind_text;
        case JSONBOID:
            return kind_jsonb;
        case DATEOID:
        case TIMESTAMPOID:
        case TIMESTAMPTZOID:
            return kind_datetime;
        default:
            return kind_generic;
    }
}

// jsonb stores an object's keys shorter first, then bytewise, and sorts
// them when the object ends.  Pushed in that order, they are found sorted
// and the sort costs one comparison per key instead of a qsort.
bool jsonb_key_less(const AuditColumn& a, const AuditColumn& b)
{
    if (a.name_len != b.name_len) return a.name_len < b.name_len;
    return memcmp(a.name, b.name, a.name_len) < 0;
}

void sort_in_key_order(AuditRelation* rel, int* indexes, int count)
{
    const AuditColumn* columns = rel->columns;
    std::sort(indexes, indexes + count, [columns](int a, int b) { return jsonb_key_less(columns[a], columns[b]); });
}

// The audited table: a trigger cloned to a partition names its root.
// C-style: runs inside guard().
Oid audited_root(TriggerData* data)
{
    Relation relation = data->tg_relation;
    Oid audited = RelationGetRelid(relation);
    if (relation->rd_rel->relispartition) {
        Oid tgrelid = InvalidOid, parent = InvalidOid;
        if (trigger_parent(data->tg_trigger->tgoid, &tgrelid, &parent)) {
            while (OidIsValid(parent)) {
                Oid next = InvalidOid;
                if (!trigger_parent(parent, &tgrelid, &next)) break;
                audited = tgrelid;
                parent = next;
            }
        }
    }
    return audited;
}

// The trigger logs only for a table enable_audit() recorded in
// zerocut.audit_config: a trigger someone else put on a table of theirs
// (say a TEMP table named "USER") writes nothing.  The row is found by the
// table's OID (audit_config.relation), not by its names: an audited table
// that is renamed, moved to another schema or whose schema is renamed stays
// audited and writable (its log rows name it as it is now, the cache being
// rebuilt on the rename's relcache invalidation), and a table that merely
// takes an audited table's old name is not audited.  OIDs survive pg_dump
// as qualified names (regclass) and pg_upgrade as themselves; the row of a
// dropped table goes with it (event trigger zerocut_audit_config_follow),
// so its OID is never reused by a later table.  Read as the extension's
// owner (PUBLIC may not read the config); runs when the trigger's cache is
// built, not per row.
void require_recorded(Oid audited)
{
    std::optional<std::string> found;
    {
        zc::pg::SpiSession spi;
        zc::pg::PinnedSearchPath pinned;
        zc::pg::AsExtensionOwner as_extension_owner;
        found = spi.query_text("SELECT 1 FROM zerocut.audit_config WHERE relation = $1::pg_catalog.regclass",
                               {zc::pg::Param{OIDOID, ObjectIdGetDatum(audited)}});
    }
    if (found) return;
    std::string qualified = zc::pg::qualified_relation_name(audited);
    throw zc::Error(zc::sqlstate::insufficient_privilege,
                    "zerocut.audit_trigger_function() logs only tables zerocut.enable_audit() recorded; " + qualified +
                        " is not one",
                    "zerocut.audit_config has no row for " + qualified +
                        ": its audit trigger was created by hand, or the table is not the one enable_audit() ran on",
                    "Have the table's owner run SELECT zerocut.enable_audit(" + zc::pg::quote_literal(qualified) +
                        "); and drop hand-made audit triggers.");
}

// Fills `rel` (already zeroed, context set).  C-style: runs inside guard().
void build_relation(AuditRelation* rel, TriggerData* data, bool changed_only, const char* const* excluded,
                    int nexcluded, const char* const* redacted, int nredacted)
{
    MemoryContext old_context = MemoryContextSwitchTo(rel->context);
    Relation relation = data->tg_relation;
    TupleDesc desc = RelationGetDescr(relation);
    rel->changed_only = changed_only;

    Oid audited = audited_root(data);
    rel->audited_relid = audited;
    rel->relid_number = int64_to_numeric(audited);
    rel->table_name = get_rel_name(audited);
    rel->schema_name = get_namespace_name(get_rel_namespace(audited));
    if (rel->table_name == nullptr || rel->schema_name == nullptr)
        elog(ERROR, "zerocut audit: relation %u vanished", audited);

    rel->columns = static_cast<AuditColumn*>(palloc0(sizeof(AuditColumn) * Max(desc->natts, 1)));
    rel->pk = static_cast<int*>(palloc0(sizeof(int) * Max(desc->natts, 1)));
    Bitmapset* pk_attrs = RelationGetIndexAttrBitmap(relation, INDEX_ATTR_BITMAP_PRIMARY_KEY);
    for (int i = 0; i < desc->natts; ++i) {
        Form_pg_attribute attr = TupleDescAttr(desc, i);
        if (attr->attisdropped) continue;
        AuditColumn* column = &rel->columns[rel->ncolumns];
        column->attnum = attr->attnum;
        column->name = pstrdup(NameStr(attr->attname));
        column->name_len = static_cast<int>(strlen(column->name));
        column->base_type = getBaseType(attr->atttypid);
        column->typlen = attr->attlen;
        column->typbyval = attr->attbyval;
        column->kind = kind_of(column->base_type);
        column->excluded = name_in(column->name, excluded, nexcluded);
        column->hidden = column->excluded || name_in(column->name, redacted, nredacted);
        if (column->kind == kind_datetime) column->last_datetime_text = static_cast<char*>(palloc(MAXDATELEN + 1));
        if (column->kind == kind_generic) {
            column->to_jsonb = static_cast<FmgrInfo*>(palloc0(sizeof(FmgrInfo)));
            fmgr_info_cxt(F_TO_JSONB, column->to_jsonb, rel->context);
            Node* arg = reinterpret_cast<Node*>(makeNullConst(attr->atttypid, attr->atttypmod, attr->attcollation));
            column->to_jsonb->fn_expr = reinterpret_cast<Node*>(
                makeFuncExpr(F_TO_JSONB, JSONBOID, list_make1(arg), InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL));
        }
        if (bms_is_member(attr->attnum - FirstLowInvalidHeapAttributeNumber, pk_attrs))
            rel->pk[rel->npk++] = rel->ncolumns;
        rel->ncolumns++;
    }
    rel->key_order = static_cast<int*>(palloc(sizeof(int) * Max(rel->ncolumns, 1)));
    for (int c = 0; c < rel->ncolumns; ++c) rel->key_order[c] = c;
    sort_in_key_order(rel, rel->key_order, rel->ncolumns);
    sort_in_key_order(rel, rel->pk, rel->npk);
    // Row events a flush trigger on this relation will write at statement end.
    TriggerDesc* triggers = relation->trigdesc;
    Trigger* self = data->tg_trigger;
    for (int i = 0; triggers != nullptr && i < triggers->numtriggers; ++i) {
        Trigger* other = &triggers->triggers[i];
        if (other->tgfoid != self->tgfoid || other->tgenabled != self->tgenabled || TRIGGER_FOR_ROW(other->tgtype) ||
            !TRIGGER_FOR_AFTER(other->tgtype) || other->tgoldtable != nullptr || other->tgnewtable != nullptr)
            continue;
        bool is_flush = false;
        for (int a = 0; a < other->tgnargs && !is_flush; ++a) is_flush = strcmp(other->tgargs[a], "flush=true") == 0;
        if (is_flush)
            rel->flush_events |= other->tgtype & (TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE | TRIGGER_TYPE_DELETE);
    }
    for (int i = 0; i < nexcluded; ++i) {
        bool found = false;
        for (int c = 0; c < rel->ncolumns && !found; ++c) found = strcmp(rel->columns[c].name, excluded[i]) == 0;
        if (!found)
            ereport(WARNING, (errmsg("zerocut audit: excluded column \"%s\" does not exist in table \"%s\"",
                                     excluded[i], rel->table_name),
                              errhint("Run zerocut.enable_audit() again with the current column names.")));
    }
    MemoryContextSwitchTo(old_context);
}

// ---------------------------------------------------------------- jsonb ----

void push_key(JsonbParseState** state, const char* key, int length)
{
    JsonbValue value;
    value.type = jbvString;
    value.val.string.val = const_cast<char*>(key);
    value.val.string.len = length;
    pushJsonbValue(state, WJB_KEY, &value);
}

void push_cstring_value(JsonbParseState** state, const char* text)
{
    JsonbValue value;
    value.type = jbvString;
    value.val.string.val = const_cast<char*>(text);
    value.val.string.len = static_cast<int>(strlen(text));
    pushJsonbValue(state, WJB_VALUE, &value);
}

// A jsonb datum as a value: scalars extracted, containers unpacked.
void push_jsonb_value(JsonbParseState** state, Jsonb* jsonb)
{
    JsonbValue value;
    if (JB_ROOT_IS_SCALAR(jsonb)) {
        JsonbExtractScalar(&jsonb->root, &value);
    } else {
        value.type = jbvBinary;
        value.val.binary.data = &jsonb->root;
        value.val.binary.len = VARSIZE(jsonb) - VARHDRSZ;
    }
    pushJsonbValue(state, WJB_VALUE, &value);
}

void push_column_value(JsonbParseState** state, const AuditColumn* column, Datum datum, bool is_null)
{
    if (column->hidden) {
        push_cstring_value(state, core::audit::redacted_marker);
        return;
    }
    JsonbValue value;
    if (is_null) {
        value.type = jbvNull;
        pushJsonbValue(state, WJB_VALUE, &value);
        return;
    }
    switch (column->kind) {
        case kind_bool:
            value.type = jbvBool;
            value.val.boolean = DatumGetBool(datum);
            break;
        case kind_int2:
            value.type = jbvNumeric;
            value.val.numeric = int64_to_numeric(DatumGetInt16(datum));
            break;
        case kind_int4:
            value.type = jbvNumeric;
            value.val.numeric = int64_to_numeric(DatumGetInt32(datum));
            break;
        case kind_int8:
            value.type = jbvNumeric;
            value.val.numeric = int64_to_numeric(DatumGetInt64(datum));
            break;
        case kind_numeric: {
            Numeric number = DatumGetNumeric(datum);
            if (numeric_is_nan(number) || numeric_is_inf(number)) {  // not JSON numbers: strings, as to_jsonb
                push_cstring_value(state, DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(number))));
                return;
            }
            value.type = jbvNumeric;
            value.val.numeric = number;
            break;
        }
        case kind_text: {
            struct varlena* text = pg_detoast_datum_packed(reinterpret_cast<struct varlena*>(DatumGetPointer(datum)));
            value.type = jbvString;
            value.val.string.val = VARDATA_ANY(text);
            value.val.string.len = static_cast<int>(VARSIZE_ANY_EXHDR(text));
            break;
        }
        case kind_jsonb:
            push_jsonb_value(state, DatumGetJsonbP(datum));
            return;
        case kind_datetime:
            if (!column->has_last_datetime || column->last_datetime != datum ||
                column->last_timezone != session_timezone) {
                JsonEncodeDateTime(column->last_datetime_text, datum, column->base_type, nullptr);
                column->last_datetime = datum;
                column->last_timezone = session_timezone;
                column->has_last_datetime = true;
            }
            push_cstring_value(state, pstrdup(column->last_datetime_text));
            return;
        case kind_generic:
            push_jsonb_value(state, DatumGetJsonbP(FunctionCall1Coll(column->to_jsonb, InvalidOid, datum)));
            return;
    }
    pushJsonbValue(state, WJB_VALUE, &value);
}

// Equal images: unchanged.  Two on-disk TOAST pointers to the same value are
// compared without fetching it (an UPDATE that leaves a column alone keeps it).
bool column_changed(const AuditColumn* column, Datum old_value, bool old_null, Datum new_value, bool new_null)
{
    if (old_null || new_null) return old_null != new_null;
    if (column->typlen == -1) {
        auto* a = reinterpret_cast<struct varlena*>(DatumGetPointer(old_value));
        auto* b = reinterpret_cast<struct varlena*>(DatumGetPointer(new_value));
        if (VARATT_IS_EXTERNAL_ONDISK(a) && VARATT_IS_EXTERNAL_ONDISK(b) &&
            VARSIZE_EXTERNAL(a) == VARSIZE_EXTERNAL(b) && memcmp(a, b, VARSIZE_EXTERNAL(a)) == 0)
            return false;
    }
    return !datum_image_eq(old_value, new_value, column->typbyval, column->typlen);
}

// Pushes {name: value, ...} for the columns selected by `pick` (nullptr: all).
void push_row(JsonbParseState** state, const char* key, AuditRelation* rel, Datum* values, bool* nulls,
              const bool* pick)
{
    push_key(state, key, static_cast<int>(strlen(key)));
    pushJsonbValue(state, WJB_BEGIN_OBJECT, nullptr);
    for (int k = 0; k < rel->ncolumns; ++k) {
        int c = rel->key_order[k];
        if (pick != nullptr && !pick[c]) continue;
        const AuditColumn* column = &rel->columns[c];
        push_key(state, column->name, column->name_len);
        int index = column->attnum - 1;
        push_column_value(state, column, values[index], nulls[index]);
    }
    pushJsonbValue(state, WJB_END_OBJECT, nullptr);
}

// The metadata's own keys go in jsonb's key order too (shorter first, then
// bytewise): pk, xid, relid, table, schema, new_data, old_data, operation,
// current_user, session_user, application_name.
void push_table(JsonbParseState** state, AuditRelation* rel)
{
    push_key(state, "relid", 5);
    JsonbValue relid;
    relid.type = jbvNumeric;
    relid.val.numeric = rel->relid_number;
    pushJsonbValue(state, WJB_VALUE, &relid);
    push_key(state, "table", 5);
    push_cstring_value(state, rel->table_name);
    push_key(state, "schema", 6);
    push_cstring_value(state, rel->schema_name);
}

// The top-level transaction's id (what pg_current_xact_id() returns) as a
// jsonb number, converted once per transaction.  Assigns the id if the
// change has none yet (it has: it wrote a row).
Numeric xid_number = nullptr;
uint64 xid_number_of = 0;

void push_xid(JsonbParseState** state)
{
    uint64 xid = U64FromFullTransactionId(GetTopFullTransactionId());
    if (xid_number == nullptr || xid_number_of != xid) {
        MemoryContext old_context = MemoryContextSwitchTo(TopMemoryContext);
        Numeric number = int64_to_numeric(static_cast<int64>(xid));
        MemoryContextSwitchTo(old_context);
        if (xid_number != nullptr) pfree(xid_number);
        xid_number = number;
        xid_number_of = xid;
    }
    push_key(state, "xid", 3);
    JsonbValue value;
    value.type = jbvNumeric;
    value.val.numeric = xid_number;
    pushJsonbValue(state, WJB_VALUE, &value);
}

const RoleName& role_name(RoleName* cache, Oid role)
{
    if (cache->role != role || cache->name == nullptr) {
        char* name = GetUserNameFromId(role, true);
        char* copy = MemoryContextStrdup(TopMemoryContext, name != nullptr ? name : "");
        if (cache->name != nullptr) pfree(cache->name);
        cache->name = copy;
        cache->length = static_cast<int>(strlen(copy));
        cache->role = role;
    }
    return *cache;
}

// Who made the change, beyond app.current_user_id (which any session
// sets): the session's login role, the role the change ran as (before the
// writer switches to the log's owner) and the client's application_name.
void push_actor(JsonbParseState** state)
{
    const RoleName& current = role_name(&current_role_name, GetUserId());
    push_key(state, "current_user", 12);
    push_cstring_value(state, current.name);
    const RoleName& session = role_name(&session_role_name, GetSessionUserId());
    push_key(state, "session_user", 12);
    push_cstring_value(state, session.name);
    push_key(state, "application_name", 16);
    push_cstring_value(state, application_name != nullptr ? application_name : "");
}

void push_operation(JsonbParseState** state, const char* operation)
{
    push_key(state, "operation", 9);
    push_cstring_value(state, operation);
}

void push_pk(JsonbParseState** state, AuditRelation* rel, Datum* values, bool* nulls)
{
    if (rel->npk == 0) return;
    push_key(state, "pk", 2);
    pushJsonbValue(state, WJB_BEGIN_OBJECT, nullptr);
    for (int i = 0; i < rel->npk; ++i) {
        const AuditColumn* column = &rel->columns[rel->pk[i]];
        push_key(state, column->name, column->name_len);
        push_column_value(state, column, values[column->attnum - 1], nulls[column->attnum - 1]);
    }
    pushJsonbValue(state, WJB_END_OBJECT, nullptr);
}

// ------------------------------------------------------------ the log ----

constexpr const char* insert_one_sql =
    "INSERT INTO audit_log.system_log (level, message, metadata, user_id) VALUES ('INFO', $1, $2, $3)";
// unnest() returns its elements in order and a function scan keeps it.
constexpr const char* insert_many_sql =
    "INSERT INTO audit_log.system_log (level, message, metadata, user_id) "
    "SELECT 'INFO', $1, m, $3 FROM pg_catalog.unnest($2::pg_catalog.jsonb[]) AS u(m)";
constexpr const char* insert_buffered_sql =
    "INSERT INTO audit_log.system_log (level, message, metadata, user_id) "
    "SELECT 'INFO', m, d, u FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), "
    "pg_catalog.unnest($2::pg_catalog.jsonb[]), pg_catalog.unnest($3::pg_catalog.int4[])) AS x(m, d, u)";

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

// The log table and its owner.
struct LogTable {
    Oid relid;
    Oid owner;
};

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

SPIPlanPtr insert_one_plan = nullptr;
SPIPlanPtr insert_many_plan = nullptr;
SPIPlanPtr insert_buffered_plan = nullptr;

SPIPlanPtr kept_plan(SPIPlanPtr* slot, const char* sql, const Oid* types)
{
    if (*slot != nullptr) return *slot;
    *slot = zc::pg::guard([=] {
        SPIPlanPtr plan = SPI_prepare(sql, 3, const_cast<Oid*>(types));
        if (plan == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        SPI_keepplan(plan);
        return plan;
    });
    return *slot;
}

using zc::pg::AsLogOwner;

// The fast path when the log allows it (audit/log_writer.hpp); true when
// the rows are written.
bool try_direct(const LogTable& log, const LogRow* rows, int count)
{
    if (!direct_insert_enabled) return false;
    Oid relid = log.relid;
    AsLogOwner as_owner(log.owner);
    return zc::pg::guard([=] { return insert_log_rows_direct(relid, rows, count); });
}

// One LogRow per metadata item.  C-style: runs inside guard().
LogRow* rows_of_metadata(Jsonb* const* metadata, int count, Datum message, int32 user_id, bool user_null)
{
    auto* rows = static_cast<LogRow*>(palloc(sizeof(LogRow) * Max(count, 1)));
    for (int i = 0; i < count; ++i) rows[i] = LogRow{message, JsonbPGetDatum(metadata[i]), user_id, user_null};
    return rows;
}

// The metadata items as one jsonb[], the SQL path's parameter.  C-style:
// runs inside guard().
Datum metadata_array(Jsonb* const* metadata, int count)
{
    Datum* elements = static_cast<Datum*>(palloc(sizeof(Datum) * Max(count, 1)));
    for (int i = 0; i < count; ++i) elements[i] = JsonbPGetDatum(metadata[i]);
    return PointerGetDatum(construct_array(elements, count, JSONBOID, -1, false, TYPALIGN_INT));
}

// The SQL path: a kept INSERT.
void run_insert(const LogTable& log, SPIPlanPtr* slot, const char* sql, const Oid* types, Datum* values,
                const char* nulls)
{
    zc::pg::SpiSession spi;
    SPIPlanPtr plan = kept_plan(slot, sql, types);
    int rc = 0;
    {
        AsLogOwner as_owner(log.owner);
        rc = zc::pg::guard([=] { return SPI_execute_plan(plan, values, nulls, false, 0); });
    }
    if (rc != SPI_OK_INSERT)
        throw zc::Error(zc::sqlstate::internal_error,
                        std::string("writing the audit log failed: ") + SPI_result_code_string(rc));
}

void insert_one(const LogTable& log, Datum message_datum, Datum metadata, Oid metadata_type, SPIPlanPtr* slot,
                const char* sql, std::optional<int32> user_id)
{
    Oid types[3] = {TEXTOID, metadata_type, INT4OID};
    Datum values[3] = {message_datum, metadata, Int32GetDatum(user_id.value_or(0))};
    char nulls[4] = {' ', ' ', user_id ? ' ' : 'n', '\0'};
    run_insert(log, slot, sql, types, values, nulls);
}

// ------------------------------------------------- row-mode buffering ----
//
// A row-mode trigger whose table also carries the statement-level flush
// trigger (zerocut_audit_zz_flush, created by enable_audit) does not insert
// per row: it appends the row here, and the flush trigger, which fires after
// every row trigger of the statement, writes them with one INSERT.  Rows
// carry the subtransaction that made them: a flush writes only rows of the
// current subtransaction and its committed children (an outer
// subtransaction's rows wait for their own statement's flush), and a
// rolled-back subtransaction drops its rows.  Anything left at commit is
// written then.  Plain data in a context under TopTransactionContext.

struct PendingRow {
    SubTransactionId subid;
    char* message;
    Jsonb* metadata;
    int32 user_id;
    bool user_null;
};

MemoryContext pending_context = nullptr;
PendingRow* pending = nullptr;
int pending_count = 0;
int pending_capacity = 0;
Size pending_bytes = 0;
constexpr Size pending_limit = 64 * 1024 * 1024;  // flush early past this

void forget_pending()
{
    pending_context = nullptr;  // freed with TopTransactionContext
    pending = nullptr;
    pending_count = pending_capacity = 0;
    pending_bytes = 0;
}

// Appends one row; C-style, runs inside guard().
void append_pending(const char* message, Jsonb* metadata, bool user_null, int32 user_id)
{
    if (pending_context == nullptr) {
        pending_context =
            AllocSetContextCreate(TopTransactionContext, "zerocut audit pending rows", ALLOCSET_DEFAULT_SIZES);
        pending_capacity = 1024;
        pending = static_cast<PendingRow*>(MemoryContextAlloc(pending_context, sizeof(PendingRow) * pending_capacity));
    }
    if (pending_count == pending_capacity) {
        pending_capacity *= 2;
        pending = static_cast<PendingRow*>(repalloc(pending, sizeof(PendingRow) * pending_capacity));
    }
    PendingRow* row = &pending[pending_count];
    row->subid = GetCurrentSubTransactionId();
    row->message = MemoryContextStrdup(pending_context, message);
    row->metadata = static_cast<Jsonb*>(MemoryContextAlloc(pending_context, VARSIZE(metadata)));
    memcpy(row->metadata, metadata, VARSIZE(metadata));
    row->user_id = user_id;
    row->user_null = user_null;
    pending_count++;
    pending_bytes += VARSIZE(metadata);
}

// pending[first ..] as log rows.  C-style: runs inside guard().
LogRow* rows_of_pending(int first, int count)
{
    auto* rows = static_cast<LogRow*>(palloc(sizeof(LogRow) * count));
    for (int i = 0; i < count; ++i) {
        const PendingRow* row = &pending[first + i];
        rows[i] = LogRow{PointerGetDatum(cstring_to_text(row->message)), JsonbPGetDatum(row->metadata), row->user_id,
                         row->user_null};
    }
    return rows;
}

// The three parameters of insert_buffered_sql.  C-style: runs inside guard().
void arrays_of_rows(const LogRow* rows, int count, Datum* values)
{
    Datum* messages = static_cast<Datum*>(palloc(sizeof(Datum) * count));
    Datum* metadata = static_cast<Datum*>(palloc(sizeof(Datum) * count));
    Datum* users = static_cast<Datum*>(palloc(sizeof(Datum) * count));
    bool* user_nulls = static_cast<bool*>(palloc(sizeof(bool) * count));
    for (int i = 0; i < count; ++i) {
        messages[i] = rows[i].message;
        metadata[i] = rows[i].metadata;
        users[i] = Int32GetDatum(rows[i].user_id);
        user_nulls[i] = rows[i].user_null;
    }
    int dims[1] = {count};
    int lbs[1] = {1};
    values[0] = PointerGetDatum(construct_array(messages, count, TEXTOID, -1, false, TYPALIGN_INT));
    values[1] = PointerGetDatum(construct_array(metadata, count, JSONBOID, -1, false, TYPALIGN_INT));
    values[2] = PointerGetDatum(construct_md_array(users, user_nulls, 1, dims, lbs, INT4OID, 4, true, TYPALIGN_INT));
}

// The rows a flush in the current subtransaction may write: a suffix.
int first_flushable()
{
    SubTransactionId current = GetCurrentSubTransactionId();
    int first = pending_count;
    while (first > 0 && pending[first - 1].subid >= current) --first;
    return first;
}

void xact_callback(XactEvent event, void*)
{
    switch (event) {
        case XACT_EVENT_PRE_COMMIT:
        case XACT_EVENT_PRE_PREPARE:
            if (pending_count > 0) {
                // A statement whose flush trigger did not fire (e.g. a write
                // addressed to a partition of an audited parent): write now.
                zc::pg::FailedCall failed;
                try {
                    flush_pending_rows();
                    return;
                } catch (...) {
                    zc::pg::capture_current_exception(failed);
                }
                zc::pg::raise_failed_call(failed);
            }
            break;
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PREPARE:
        case XACT_EVENT_PARALLEL_COMMIT:
        case XACT_EVENT_PARALLEL_ABORT:
            forget_pending();
            break;
        default:
            break;
    }
}

void subxact_callback(SubXactEvent event, SubTransactionId subid, SubTransactionId, void*)
{
    if (event != SUBXACT_EVENT_ABORT_SUB) return;
    while (pending_count > 0 && pending[pending_count - 1].subid >= subid) {
        pending_bytes -= VARSIZE(pending[pending_count - 1].metadata);
        pending_count--;
    }
}

zc::pg::OnLoad audit_xact_on_load([] {
    RegisterXactCallback(xact_callback, nullptr);
    RegisterSubXactCallback(subxact_callback, nullptr);
});

}  // namespace

// ------------------------------------------------------------ public ----

AuditRelation* audit_relation(TriggerData* data)
{
    Oid trigger_oid = data->tg_trigger->tgoid;
    if (relations == nullptr) relations = new std::unordered_map<Oid, AuditRelation*>();
    AuditRelation* rel = nullptr;
    if (auto found = relations->find(trigger_oid); found != relations->end()) {
        rel = found->second;
        if (rel->valid && rel->redact_generation == redact_generation) return rel;
    }

    // Options from the trigger's arguments, redacted names from the GUC.
    std::vector<std::string> args;
    for (int i = 0; i < data->tg_trigger->tgnargs; ++i) args.emplace_back(data->tg_trigger->tgargs[i]);
    core::audit::TriggerOptions options = core::audit::parse_trigger_arguments(args);
    auto redacted = core::audit::parse_column_list(redact_columns_setting ? redact_columns_setting : "");
    if (!redacted) redacted = std::vector<std::string>{"password_hash"};  // the check hook keeps this unreachable
    // Columns protected by zerocut.protect_column() are redacted too (src/crypto/protected_columns.hpp).
    for (auto& name : zc::crypto::protected_column_names(RelationGetRelid(data->tg_relation)))
        redacted->push_back(std::move(name));
    require_recorded(zc::pg::guard([=] { return audited_root(data); }));
    std::vector<const char*> excluded_names, redacted_names;
    for (const auto& name : options.excluded) excluded_names.push_back(name.c_str());
    for (const auto& name : *redacted) redacted_names.push_back(name.c_str());
    if (rel == nullptr) {
        rel = zc::pg::guard([] {
            return static_cast<AuditRelation*>(MemoryContextAllocZero(CacheMemoryContext, sizeof(AuditRelation)));
        });
        relations->emplace(trigger_oid, rel);
    }

    // Rebuild in a fresh context; the old one goes once the new is complete.
    MemoryContext previous = rel->context;
    bool changed_only = options.changed_only;
    const char* const* excluded = excluded_names.data();
    int nexcluded = static_cast<int>(excluded_names.size());
    const char* const* redacted_list = redacted_names.data();
    int nredacted = static_cast<int>(redacted_names.size());
    zc::pg::guard([=] {
        AuditRelation fresh;
        memset(&fresh, 0, sizeof(fresh));
        fresh.context = AllocSetContextCreate(CacheMemoryContext, "zerocut audit trigger", ALLOCSET_SMALL_SIZES);
        PG_TRY();
        {
            build_relation(&fresh, data, changed_only, excluded, nexcluded, redacted_list, nredacted);
        }
        PG_CATCH();
        {
            MemoryContextDelete(fresh.context);
            PG_RE_THROW();
        }
        PG_END_TRY();
        fresh.trigger_oid = trigger_oid;
        fresh.relid = RelationGetRelid(data->tg_relation);
        fresh.redact_generation = redact_generation;
        fresh.valid = true;
        *rel = fresh;
        if (previous != nullptr) MemoryContextDelete(previous);
    });
    std::string table(rel->table_name);
    std::string messages[4] = {core::audit::log_message(table, "INSERT"), core::audit::log_message(table, "UPDATE"),
                               core::audit::log_message(table, "DELETE"), core::audit::log_message(table, "TRUNCATE")};
    char* copies[4];
    for (int i = 0; i < 4; ++i) {
        const char* text = messages[i].c_str();
        MemoryContext context = rel->context;
        copies[i] = zc::pg::guard([=] { return MemoryContextStrdup(context, text); });
    }
    rel->message_insert = copies[0];
    rel->message_update = copies[1];
    rel->message_delete = copies[2];
    rel->message_truncate = copies[3];
    return rel;
}

Jsonb* build_change(AuditRelation* rel, const char* operation, Datum* old_values, bool* old_nulls, Datum* new_values,
                    bool* new_nulls)
{
    bool is_update = old_values != nullptr && new_values != nullptr;
    bool* changed = nullptr;
    if (is_update && rel->changed_only) {
        // Decide before building any JSON: which columns changed, and does
        // any change count (excluded columns alone do not).
        changed = static_cast<bool*>(palloc(sizeof(bool) * Max(rel->ncolumns, 1)));
        bool counted = false;
        for (int c = 0; c < rel->ncolumns; ++c) {
            const AuditColumn* column = &rel->columns[c];
            int index = column->attnum - 1;
            changed[c] =
                column_changed(column, old_values[index], old_nulls[index], new_values[index], new_nulls[index]);
            counted = counted || (changed[c] && !column->excluded);
        }
        if (!counted) {
            pfree(changed);
            return nullptr;
        }
    }
    JsonbParseState* state = nullptr;
    pushJsonbValue(&state, WJB_BEGIN_OBJECT, nullptr);
    if (new_values != nullptr)
        push_pk(&state, rel, new_values, new_nulls);
    else
        push_pk(&state, rel, old_values, old_nulls);
    push_xid(&state);
    push_table(&state, rel);
    if (new_values != nullptr) push_row(&state, "new_data", rel, new_values, new_nulls, changed);
    if (old_values != nullptr)  // without a primary key the whole old row identifies it
        push_row(&state, "old_data", rel, old_values, old_nulls, rel->npk > 0 ? changed : nullptr);
    push_operation(&state, operation);
    push_actor(&state);
    JsonbValue* result = pushJsonbValue(&state, WJB_END_OBJECT, nullptr);
    return JsonbValueToJsonb(result);
}

Jsonb* build_truncate(AuditRelation* rel)
{
    JsonbParseState* state = nullptr;
    pushJsonbValue(&state, WJB_BEGIN_OBJECT, nullptr);
    push_xid(&state);
    push_table(&state, rel);
    push_operation(&state, "TRUNCATE");
    push_actor(&state);
    JsonbValue* result = pushJsonbValue(&state, WJB_END_OBJECT, nullptr);
    return JsonbValueToJsonb(result);
}

void require_usable_log()
{
    log_table();
}

std::optional<int32> current_app_user()
{
    const char* setting = zc::pg::guard([] { return GetConfigOption("app.current_user_id", true, false); });
    return core::audit::parse_user_id(setting);
}

void write_log_row(const char* message, Jsonb* metadata, std::optional<int32> user_id)
{
    LogTable log = log_table();
    LogRow row{zc::pg::guard([=] { return PointerGetDatum(cstring_to_text(message)); }), JsonbPGetDatum(metadata),
               user_id.value_or(0), !user_id.has_value()};
    if (try_direct(log, &row, 1)) return;
    insert_one(log, row.message, row.metadata, JSONBOID, &insert_one_plan, insert_one_sql, user_id);
}

void write_log_rows(const char* message, Jsonb* const* metadata, int count, std::optional<int32> user_id)
{
    LogTable log = log_table();
    Datum message_datum = zc::pg::guard([=] { return PointerGetDatum(cstring_to_text(message)); });
    if (direct_insert_enabled) {
        int32 user = user_id.value_or(0);
        bool user_null = !user_id.has_value();
        LogRow* rows = zc::pg::guard([=] { return rows_of_metadata(metadata, count, message_datum, user, user_null); });
        if (try_direct(log, rows, count)) return;
    }
    Datum array = zc::pg::guard([=] { return metadata_array(metadata, count); });
    insert_one(log, message_datum, array, JSONBARRAYOID, &insert_many_plan, insert_many_sql, user_id);
}

void buffer_log_row(const char* message, Jsonb* metadata, std::optional<int32> user_id)
{
    bool user_null = !user_id.has_value();
    int32 user = user_id.value_or(0);
    zc::pg::guard([=] { append_pending(message, metadata, user_null, user); });
    if (pending_bytes >= pending_limit) flush_pending_rows();
}

void flush_pending_rows()
{
    if (pending_count == 0) return;
    int first = first_flushable();
    int count = pending_count - first;
    if (count == 0) return;
    // The rows leave the buffer first (the SQL path's INSERT could fire
    // further triggers); their memory lasts until the transaction ends.
    LogRow* rows = zc::pg::guard([=] { return rows_of_pending(first, count); });
    for (int i = first; i < pending_count; ++i) pending_bytes -= VARSIZE(pending[i].metadata);
    pending_count = first;
    LogTable log = log_table();
    if (try_direct(log, rows, count)) return;
    // Three parallel arrays, one set-based INSERT.
    Datum values[3];
    zc::pg::guard([&] { arrays_of_rows(rows, count, values); });
    Oid types[3] = {TEXTARRAYOID, JSONBARRAYOID, INT4ARRAYOID};
    char nulls[4] = "   ";
    run_insert(log, &insert_buffered_plan, insert_buffered_sql, types, values, nulls);
}

}  // namespace zc::audit
