// zerocut.touch_updated_at() RETURNS trigger
//
// BEFORE UPDATE ... FOR EACH ROW: sets the row's updated_at (or the column
// named by the first trigger argument) to the transaction's timestamp, as
// `NEW.updated_at := CURRENT_TIMESTAMP` would, without a PL/pgSQL frame.
//
// Hot path: the column's number is looked up once per statement (cached in
// fn_extra, which lives as long as the statement's trigger state), and the
// 8-byte timestamp is written into a copy of the new row instead of
// deforming and re-forming it.  Rows where that is not possible (a NULL
// value, a column added after the row was written) take heap_modify_tuple.
#include <string>

#include "pg/boundary.hpp"

extern "C" {
#include "access/htup_details.h"
#include "utils/timestamp.h"
}

namespace {

struct TouchTarget {
    Oid trigger_oid;
    int attnum;  // 1-based
    bool is_timestamptz;
};

void require_before_row_update(FunctionCallInfo fcinfo)
{
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "touch_updated_at() must be called as a trigger");
    auto* data = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_BEFORE(data->tg_event) || !TRIGGER_FIRED_FOR_ROW(data->tg_event) ||
        !TRIGGER_FIRED_BY_UPDATE(data->tg_event))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "touch_updated_at() must be fired BEFORE UPDATE FOR EACH ROW",
                        std::string("trigger \"") + data->tg_trigger->tgname + "\"");
}

// Finds and checks the column to set.
TouchTarget resolve_target(TriggerData* data)
{
    const char* column = data->tg_trigger->tgnargs > 0 ? data->tg_trigger->tgargs[0] : "updated_at";
    TupleDesc desc = data->tg_relation->rd_att;
    int attnum = SPI_fnumber(desc, column);
    if (attnum <= 0)
        throw zc::Error(zc::sqlstate::undefined_column,
                        std::string("column \"") + column + "\" of relation \"" +
                            RelationGetRelationName(data->tg_relation) + "\" does not exist",
                        "",
                        "Name the column as the trigger's argument: EXECUTE FUNCTION zerocut.touch_updated_at('col').");
    Oid type = TupleDescAttr(desc, attnum - 1)->atttypid;
    if (type != TIMESTAMPTZOID && type != TIMESTAMPOID)
        throw zc::Error(zc::sqlstate::wrong_object_type,
                        std::string("column \"") + column + "\" must be of type timestamptz or timestamp");
    return TouchTarget{data->tg_trigger->tgoid, attnum, type == TIMESTAMPTZOID};
}

// The statement-long cache in fn_extra (one trigger function call site).
const TouchTarget& cached_target(FunctionCallInfo fcinfo, TriggerData* data)
{
    auto* cached = static_cast<TouchTarget*>(fcinfo->flinfo->fn_extra);
    if (cached == nullptr || cached->trigger_oid != data->tg_trigger->tgoid) {
        TouchTarget target = resolve_target(data);
        MemoryContext context = fcinfo->flinfo->fn_mcxt;
        cached =
            static_cast<TouchTarget*>(zc::pg::guard([=] { return MemoryContextAlloc(context, sizeof(TouchTarget)); }));
        *cached = target;
        fcinfo->flinfo->fn_extra = cached;
    }
    return *cached;
}

// Byte offset of attribute `attnum` from the start of `tuple`'s header, or -1
// when it is NULL or not physically present (added later with a default).
long attribute_offset(HeapTuple tuple, TupleDesc desc, int attnum)
{
    HeapTupleHeader header = tuple->t_data;
    if (attnum > HeapTupleHeaderGetNatts(header)) return -1;
    bool has_nulls = HeapTupleHasNulls(tuple);
    bits8* null_bitmap = header->t_bits;
    char* data = reinterpret_cast<char*>(header) + header->t_hoff;
    uint32 offset = 0;
    for (int i = 0; i < attnum; ++i) {
        Form_pg_attribute attribute = TupleDescAttr(desc, i);
        if (has_nulls && att_isnull(i, null_bitmap)) {
            if (i == attnum - 1) return -1;
            continue;
        }
        offset = att_align_pointer(offset, attribute->attalign, attribute->attlen, data + offset);
        if (i == attnum - 1) return header->t_hoff + long(offset);
        offset = att_addlength_pointer(offset, attribute->attlen, data + offset);
    }
    return -1;
}

}  // namespace

ZC_FUNCTION(zc_touch_updated_at)
{
    require_before_row_update(fcinfo);
    auto* data = reinterpret_cast<TriggerData*>(fcinfo->context);
    const TouchTarget& target = cached_target(fcinfo, data);
    TimestampTz now = GetCurrentTransactionStartTimestamp();
    Datum value = target.is_timestamptz ? TimestampTzGetDatum(now) : zc::pg::guard([=] {
        return DirectFunctionCall1(timestamptz_timestamp, TimestampTzGetDatum(now));
    });
    HeapTuple new_row = data->tg_newtuple;
    TupleDesc desc = data->tg_relation->rd_att;
    int attnum = target.attnum;
    if (long offset = attribute_offset(new_row, desc, attnum); offset >= 0) {
        // Same layout, same width: copy the row and overwrite 8 bytes.
        HeapTuple touched = zc::pg::guard([=] { return heap_copytuple(new_row); });
        int64 raw = DatumGetInt64(value);
        memcpy(reinterpret_cast<char*>(touched->t_data) + offset, &raw, sizeof(raw));
        return PointerGetDatum(touched);
    }
    bool is_null = false;
    HeapTuple touched =
        zc::pg::guard([&] { return heap_modify_tuple_by_cols(new_row, desc, 1, &attnum, &value, &is_null); });
    return PointerGetDatum(touched);
}
