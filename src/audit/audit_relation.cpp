// The audit trigger's per-trigger metadata (AuditRelation, audit_log.hpp):
// built once per trigger, not per row, from the relation's descriptor, the
// trigger's arguments, zerocut.audit_redact_columns and the protected
// columns, after checking that the table is one enable_audit() recorded.
// Also the relcache and role callbacks that invalidate the audit caches
// (this one, the log check, the role names): one registration for all.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit/audit_log_internal.hpp"
#include "core/audit_options.hpp"
#include "core/errors.hpp"
#include "crypto/protected_columns.hpp"
#include "pg/boundary.hpp"
#include "pg/module.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_trigger.h"
#include "nodes/makefuncs.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/syscache.h"
}

namespace zc::audit {

namespace {

// ---------------------------------------------------------------- GUC ----

char* redact_columns_setting = nullptr;
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

void relcache_callback(Datum, Oid relid)
{
    forget_checked_log(relid);
    if (relations == nullptr) return;
    for (auto& [trigger, rel] : *relations)
        if (relid == InvalidOid || rel->relid == relid || rel->audited_relid == relid) rel->valid = false;
}

// A role renamed, dropped or no longer superuser: names and the log's
// owner are checked again.
void authid_callback(Datum, int, uint32)
{
    forget_checked_log(InvalidOid);
    forget_role_names();
}

zc::pg::OnLoad audit_on_load([] {
    DefineCustomStringVariable(
        "zerocut.audit_redact_columns", "Columns whose values the audit trigger never writes in clear.",
        "Comma-separated column names; a change to one is logged as \"[redacted]\".", &redact_columns_setting,
        "password_hash", PGC_SUSET, GUC_LIST_INPUT, check_redact_columns, assign_redact_columns, nullptr);
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

}  // namespace zc::audit
