// The metadata jsonb of one change (build_change, build_truncate), pushed
// directly as JsonbValues in jsonb's own key order: no SQL, no text round
// trip.  Excluded and redacted columns' values never reach it.
#include "audit/audit_log_internal.hpp"
#include "core/audit_options.hpp"

extern "C" {
#include "access/detoast.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
}

namespace zc::audit {

namespace {

// Role names recorded in every row (session_user, current_user), by OID.
struct RoleName {
    Oid role = InvalidOid;
    char* name = nullptr;  // in TopMemoryContext
    int length = 0;
};
RoleName session_role_name, current_role_name;

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

}  // namespace

// A role renamed or dropped: names looked up again (audit_relation.cpp's
// authid callback).
void forget_role_names()
{
    session_role_name.role = InvalidOid;
    current_role_name.role = InvalidOid;
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

}  // namespace zc::audit
