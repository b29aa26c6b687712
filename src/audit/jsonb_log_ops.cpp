// zerocut.jsonb_log_ops: a GIN operator class for audit_log.system_log's
// metadata, serving `metadata @> '...'` with one index key per primary-key
// column of an audit row.
//
// The support functions of one SQL object live together here:
//   zerocut.jsonb_log_ops_extract_value(jsonb, internal, internal)
//   zerocut.jsonb_log_ops_extract_query(jsonb, internal, int2, internal, internal, internal, internal)
//   zerocut.jsonb_log_ops_consistent(internal, int2, jsonb, int4, internal, internal, internal, internal)
//   zerocut.jsonb_log_ops_triconsistent(internal, int2, jsonb, int4, internal, internal, internal)
//   zerocut.jsonb_log_ops_compare_partial(int8, int8, int2, internal)
//
// Keys are int8: high 32 bits a prefix, low 32 bits a hash of a scalar leaf
// and the object keys on its path (jsonb_path_ops' hashing).
// - A metadata object with a string "table" is a table's row: its "pk"
//   leaves get that table's hash as prefix (one key per primary key
//   column: the row's identity), or, with no pk leaf, one key (table, 0).
// - "old_data", "new_data" (row images) and "operation", "schema", "table"
//   (low-cardinality envelope) give no key of their own; nor, in an audit
//   row (one with a string "table"), do "relid", "xid", "current_user",
//   "session_user" and "application_name" (who and where, rechecked).
// - Every other leaf (a system event's own keys, or everything of a
//   metadata that is not an object) gets a key with prefix 0.
// A query yields only keys that every row containing it must have: exact
// keys for its table's pk leaves and its other leaves, a partial match on
// the table's prefix when it names a table but no pk leaf, nothing for the
// rest. The index returns candidates; @> is always rechecked.
// docs/audit.md, "Index design".
#include "pg/boundary.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "access/gin.h"
#include "access/stratnum.h"
#include "miscadmin.h"
#include "utils/jsonb.h"
}

namespace {

constexpr StrategyNumber contains_strategy = 7;  // @>, as jsonb_path_ops numbers it
constexpr uint32 generic_prefix = 0;

// The keys extracted so far (POD: built inside guard()).
struct Keys {
    Datum* values;
    int count;
    int capacity;
};

Keys new_keys()
{
    Keys keys{};
    keys.capacity = 8;
    keys.values = static_cast<Datum*>(palloc(sizeof(Datum) * keys.capacity));
    return keys;
}

void add_key(Keys* keys, uint32 prefix, uint32 hash)
{
    if (keys->count == keys->capacity) {
        keys->capacity *= 2;
        keys->values = static_cast<Datum*>(repalloc(keys->values, sizeof(Datum) * keys->capacity));
    }
    keys->values[keys->count++] = Int64GetDatum(static_cast<int64>((static_cast<uint64>(prefix) << 32) | hash));
}

uint32 mix(const JsonbValue* scalar, uint32 seed)
{
    uint32 hash = seed;
    JsonbHashScalarValue(scalar, &hash);
    return hash;
}

// One key per scalar leaf of `value`: object keys on the way are mixed into
// the path hash, array levels add nothing (so a raw scalar and a
// one-element array hash alike, as containment treats them).
void add_leaf_keys(Keys* keys, const JsonbValue* value, uint32 path_hash, uint32 prefix)
{
    if (value->type != jbvBinary) {
        add_key(keys, prefix, mix(value, path_hash));
        return;
    }
    check_stack_depth();
    JsonbIterator* it = JsonbIteratorInit(value->val.binary.data);
    JsonbValue v;
    uint32 key_hash = path_hash;
    JsonbIteratorToken token;
    while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
        if (token == WJB_KEY)
            key_hash = mix(&v, path_hash);
        else if (token == WJB_VALUE)
            add_leaf_keys(keys, &v, key_hash, prefix);
        else if (token == WJB_ELEM)
            add_leaf_keys(keys, &v, path_hash, prefix);
    }
}

enum class TopKey { image, envelope, pk, other };

// Runs once per logged row: compares lengths before bytes.  `audit_row`:
// the metadata has a string "table"; its context members are envelope.
TopKey classify(const JsonbValue* key, bool audit_row)
{
    const char* name = key->val.string.val;
    TopKey context = audit_row ? TopKey::envelope : TopKey::other;
    switch (key->val.string.len) {
        case 2:
            return memcmp(name, "pk", 2) == 0 ? TopKey::pk : TopKey::other;
        case 3:
            return memcmp(name, "xid", 3) == 0 ? context : TopKey::other;
        case 5:
            if (memcmp(name, "table", 5) == 0) return TopKey::envelope;
            return memcmp(name, "relid", 5) == 0 ? context : TopKey::other;
        case 6:
            return memcmp(name, "schema", 6) == 0 ? TopKey::envelope : TopKey::other;
        case 8:
            return memcmp(name, "old_data", 8) == 0 || memcmp(name, "new_data", 8) == 0 ? TopKey::image : TopKey::other;
        case 9:
            return memcmp(name, "operation", 9) == 0 ? TopKey::envelope : TopKey::other;
        case 12:
            return memcmp(name, "current_user", 12) == 0 || memcmp(name, "session_user", 12) == 0 ? context
                                                                                                  : TopKey::other;
        case 16:
            return memcmp(name, "application_name", 16) == 0 ? context : TopKey::other;
        default:
            return TopKey::other;
    }
}

// The prefix of a table's keys: the hash of a string "table" member.
bool table_prefix(Jsonb* jb, uint32* prefix)
{
    JsonbValue found;
    JsonbValue* table = getKeyJsonValueFromContainer(&jb->root, "table", 5, &found);
    if (table == nullptr || table->type != jbvString) return false;
    *prefix = mix(table, 0);
    return true;
}

// The keys of a metadata value (for_query false) or of a containment query.
// Sets *needs_table_scan when a query names a table but no pk leaf.
void add_metadata_keys(Keys* keys, Jsonb* jb, bool for_query, bool* needs_table_scan)
{
    JsonbValue root;
    root.type = jbvBinary;
    root.val.binary.data = &jb->root;
    root.val.binary.len = VARSIZE(jb) - VARHDRSZ;
    if (!JB_ROOT_IS_OBJECT(jb)) {
        add_leaf_keys(keys, &root, 0, generic_prefix);
        return;
    }
    uint32 table = 0;
    bool has_table = table_prefix(jb, &table);
    int table_keys = 0;

    JsonbIterator* it = JsonbIteratorInit(&jb->root);
    JsonbValue v;
    TopKey kind = TopKey::other;
    uint32 key_hash = 0;
    JsonbIteratorToken token;
    while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
        if (token == WJB_KEY) {
            kind = classify(&v, has_table);
            if (kind == TopKey::other || kind == TopKey::pk) key_hash = mix(&v, 0);
        } else if (token == WJB_VALUE) {
            if (kind == TopKey::other || (kind == TopKey::pk && !has_table && !for_query)) {
                add_leaf_keys(keys, &v, key_hash, generic_prefix);
            } else if (kind == TopKey::pk && has_table) {
                int before = keys->count;
                add_leaf_keys(keys, &v, key_hash, table);
                table_keys += keys->count - before;
            }
            // images and envelope members give no key; nor does a query's
            // pk without a table (a row with a table keys its pk by it).
        }
    }
    if (has_table && table_keys == 0) {
        if (for_query) *needs_table_scan = true;
        add_key(keys, table, 0);
    }
}

void require_contains(StrategyNumber strategy)
{
    if (strategy != contains_strategy) elog(ERROR, "jsonb_log_ops: unrecognized strategy number %d", strategy);
}

}  // namespace

ZC_FUNCTION(zc_jsonb_log_ops_extract_value)
{
    return zc::pg::guard([=] {
        Jsonb* jb = PG_GETARG_JSONB_P(0);
        auto* count = reinterpret_cast<int32*>(PG_GETARG_POINTER(1));
        Keys keys = new_keys();
        bool unused = false;
        add_metadata_keys(&keys, jb, false, &unused);
        *count = keys.count;
        return PointerGetDatum(keys.values);
    });
}

ZC_FUNCTION(zc_jsonb_log_ops_extract_query)
{
    return zc::pg::guard([=] {
        Jsonb* query = PG_GETARG_JSONB_P(0);
        auto* count = reinterpret_cast<int32*>(PG_GETARG_POINTER(1));
        require_contains(PG_GETARG_UINT16(2));
        auto** partial = reinterpret_cast<bool**>(PG_GETARG_POINTER(3));
        auto* search_mode = reinterpret_cast<int32*>(PG_GETARG_POINTER(6));
        Keys keys = new_keys();
        bool table_scan = false;
        add_metadata_keys(&keys, query, true, &table_scan);
        *count = keys.count;
        if (table_scan) {
            // The table's key (table, 0) starts a scan over all its keys.
            *partial = static_cast<bool*>(palloc0(sizeof(bool) * keys.count));
            (*partial)[keys.count - 1] = true;
        }
        if (keys.count == 0) *search_mode = GIN_SEARCH_MODE_ALL;
        return PointerGetDatum(keys.values);
    });
}

// consistent and triconsistent run for every candidate row; the strategy
// was checked once, by extract_query.
ZC_FUNCTION(zc_jsonb_log_ops_consistent)
{
    auto* check = reinterpret_cast<bool*>(PG_GETARG_POINTER(0));
    int32 count = PG_GETARG_INT32(3);
    auto* recheck = reinterpret_cast<bool*>(PG_GETARG_POINTER(5));
    *recheck = true;  // keys are hashes of part of the document
    for (int32 i = 0; i < count; ++i)
        if (!check[i]) return BoolGetDatum(false);
    return BoolGetDatum(true);
}

ZC_FUNCTION(zc_jsonb_log_ops_triconsistent)
{
    auto* check = reinterpret_cast<GinTernaryValue*>(PG_GETARG_POINTER(0));
    int32 count = PG_GETARG_INT32(3);
    for (int32 i = 0; i < count; ++i)
        if (check[i] == GIN_FALSE) return GinTernaryValueGetDatum(GIN_FALSE);
    return GinTernaryValueGetDatum(GIN_MAYBE);  // never TRUE: always rechecked
}

// A partial key (table, 0) matches every key with the table's prefix; keys
// are int8 in signed order, in which one prefix's keys are contiguous.
ZC_FUNCTION(zc_jsonb_log_ops_compare_partial)
{
    uint64 partial = static_cast<uint64>(PG_GETARG_INT64(0));
    uint64 key = static_cast<uint64>(PG_GETARG_INT64(1));
    return Int32GetDatum((partial >> 32) == (key >> 32) ? 0 : 1);
}
